/** Squarified treemap layout (Bruls, Huizing, van Wijk 2000): pure geometry, no drawing. */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Item {
  i: number;
  area: number;
}

/**
 * One rectangle per value, in the order given, tiling `rect` with areas proportional to the
 * values. Values of zero or less get an empty rectangle at the corner. Rows are laid along the
 * shorter free side, each grown while that makes its worst aspect ratio no worse.
 */
export function squarify(values: readonly number[], rect: Rect): Rect[] {
  const out: Rect[] = values.map(() => ({ x: rect.x, y: rect.y, w: 0, h: 0 }));
  const total = values.reduce((s, v) => s + (v > 0 ? v : 0), 0);
  if (!(total > 0) || rect.w <= 0 || rect.h <= 0) return out;
  const scale = (rect.w * rect.h) / total;
  const items: Item[] = values
    .map((v, i) => ({ i, area: v > 0 ? v * scale : 0 }))
    .filter((it) => it.area > 0)
    .sort((a, b) => b.area - a.area || a.i - b.i);
  let free = { ...rect };
  let row: Item[] = [];
  for (let k = 0; k < items.length; ) {
    const side = Math.min(free.w, free.h);
    const next = items[k]!;
    if (row.length === 0 || worst([...row, next], side) <= worst(row, side)) {
      row.push(next);
      k++;
    } else {
      free = placeRow(row, free, out, false);
      row = [];
    }
  }
  if (row.length) placeRow(row, free, out, true);
  return out;
}

/** The largest aspect ratio in a row of these areas laid along a side of this length. */
function worst(row: readonly Item[], side: number): number {
  let sum = 0;
  let max = 0;
  let min = Infinity;
  for (const r of row) {
    sum += r.area;
    max = Math.max(max, r.area);
    min = Math.min(min, r.area);
  }
  const s2 = sum * sum;
  const w2 = side * side;
  return Math.max((w2 * max) / s2, s2 / (w2 * min));
}

/**
 * Lays the row against the shorter side of the free space and returns what is left. The last
 * rectangle of a row, and the whole last row, end exactly on the edge, so rounding leaves no gaps.
 */
function placeRow(row: readonly Item[], free: Rect, out: Rect[], last: boolean): Rect {
  const sum = row.reduce((s, r) => s + r.area, 0);
  const vertical = free.w >= free.h;
  const length = vertical ? free.h : free.w;
  const thick = last ? (vertical ? free.w : free.h) : Math.min(sum / length, vertical ? free.w : free.h);
  let at = vertical ? free.y : free.x;
  const end = at + length;
  row.forEach((r, j) => {
    const along = j === row.length - 1 ? end - at : r.area / thick;
    out[r.i] = vertical ? { x: free.x, y: at, w: thick, h: along } : { x: at, y: free.y, w: along, h: thick };
    at += along;
  });
  return vertical ? { x: free.x + thick, y: free.y, w: free.w - thick, h: free.h } : { x: free.x, y: free.y + thick, w: free.w, h: free.h - thick };
}

export interface TreeItem<T> {
  value: number;
  data: T;
  children?: readonly TreeItem<T>[];
}

export interface Placed<T> extends Rect {
  data: T;
  depth: number;
  /** Drawn as a filled cell: no children, or too small for its children to be drawn inside. */
  leaf: boolean;
}

export interface TreeLayoutOptions {
  /** Room kept inside a parent before its children are laid out (a label on top, a margin around). */
  pad?: { top: number; side: number };
  /** A parent smaller than this on either side is drawn as a leaf. */
  minSide?: number;
}

/** Nested layout: each item squarified in its parent's rectangle, parents before their children. */
export function layoutTree<T>(items: readonly TreeItem<T>[], rect: Rect, opts: TreeLayoutOptions = {}): Placed<T>[] {
  const pad = opts.pad ?? { top: 0, side: 0 };
  const minSide = opts.minSide ?? 0;
  const out: Placed<T>[] = [];
  const visit = (level: readonly TreeItem<T>[], area: Rect, depth: number): void => {
    const rects = squarify(level.map((it) => it.value), area);
    level.forEach((it, i) => {
      const r = rects[i]!;
      if (r.w <= 0 || r.h <= 0) return;
      const inner = { x: r.x + pad.side, y: r.y + pad.top, w: r.w - 2 * pad.side, h: r.h - pad.top - pad.side };
      const nested = (it.children?.length ?? 0) > 0 && inner.w > minSide && inner.h > minSide && inner.w > 0 && inner.h > 0;
      out.push({ ...r, data: it.data, depth, leaf: !nested });
      if (nested) visit(it.children!, inner, depth + 1);
    });
  };
  visit(items, rect, 0);
  return out;
}

/**
 * Paths with sizes that may nest (/usr and /usr/lib both listed) as a tree: each under its
 * nearest listed ancestor, with what a parent holds beyond its listed children as one more
 * child, and the root's remainder as `rest`.
 */
export function nestByPath<T extends { path: string; bytes: number }>(list: readonly T[], total: number, rest: (path: string, bytes: number) => T): TreeItem<T>[] {
  const sorted = [...list].sort((a, b) => a.path.length - b.path.length || (a.path < b.path ? -1 : 1));
  const nodes = new Map<string, { item: T; kids: string[] }>();
  const top: string[] = [];
  for (const d of sorted) {
    if (nodes.has(d.path)) continue;
    let parent: string | undefined;
    for (let p = d.path; p.lastIndexOf('/') > 0 && !parent; ) {
      p = p.slice(0, p.lastIndexOf('/'));
      if (nodes.has(p)) parent = p;
    }
    nodes.set(d.path, { item: d, kids: [] });
    (parent ? nodes.get(parent)!.kids : top).push(d.path);
  }
  const build = (path: string): TreeItem<T> => {
    const n = nodes.get(path)!;
    const children = n.kids.map(build);
    const left = n.item.bytes - children.reduce((s, c) => s + c.value, 0);
    if (children.length && left > 0) children.push({ value: left, data: rest(path, left) });
    return { value: n.item.bytes, data: n.item, ...(children.length ? { children } : {}) };
  };
  const out = top.map(build);
  const left = total - out.reduce((s, c) => s + c.value, 0);
  if (left > 0) out.push({ value: left, data: rest('/', left) });
  return out;
}
