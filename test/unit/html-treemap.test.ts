import { describe, expect, it } from 'vitest';
import { layoutTree, nestByPath, squarify, type Rect, type TreeItem } from '../../src/report/html/treemap.js';
import { splitCell } from '../../src/report/html/svg.js';

const area = (r: Rect) => r.w * r.h;

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

const inside = (r: Rect, box: Rect, eps = 1e-6) => r.x >= box.x - eps && r.y >= box.y - eps && r.x + r.w <= box.x + box.w + eps && r.y + r.h <= box.y + box.h + eps;

/** The rectangles cover the box exactly: inside it, no two overlap, and their areas add up to it. */
function expectTiling(rects: readonly Rect[], box: Rect): void {
  for (const r of rects) {
    expect(r.w).toBeGreaterThanOrEqual(0);
    expect(r.h).toBeGreaterThanOrEqual(0);
    expect(inside(r, box), JSON.stringify({ r, box })).toBe(true);
  }
  for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) expect(overlap(rects[i]!, rects[j]!)).toBeLessThan(1e-6 * area(box));
  expect(rects.reduce((s, r) => s + area(r), 0)).toBeCloseTo(area(box), 6);
}

/** A deterministic stream of numbers, so that a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('squarify', () => {
  const box = { x: 10, y: 20, w: 1180, h: 520 };

  it('tiles the box without overlap, each area in proportion to its value, in the order given', () => {
    const next = random(7);
    for (let round = 0; round < 40; round++) {
      const values = Array.from({ length: 1 + Math.floor(next() * 60) }, () => Math.floor(next() * 10 ** (1 + next() * 6)) + 1);
      const total = values.reduce((s, v) => s + v, 0);
      const rects = squarify(values, box);
      expect(rects).toHaveLength(values.length);
      expectTiling(rects, box);
      values.forEach((v, i) => expect(area(rects[i]!) / area(box)).toBeCloseTo(v / total, 9));
    }
  });

  it('gives empty rectangles to zero and negative values, and lays out the rest', () => {
    const rects = squarify([0, 3, -2, 1], { x: 0, y: 0, w: 4, h: 1 });
    expect(area(rects[0]!)).toBe(0);
    expect(area(rects[2]!)).toBe(0);
    expect(area(rects[1]!)).toBeCloseTo(3);
    expect(area(rects[3]!)).toBeCloseTo(1);
    expect(squarify([0, 0], box).every((r) => area(r) === 0)).toBe(true);
    expect(squarify([], box)).toEqual([]);
  });

  it('makes squares of four equal values in a square', () => {
    const rects = squarify([1, 1, 1, 1], { x: 0, y: 0, w: 100, h: 100 });
    for (const r of rects) {
      expect(r.w).toBeCloseTo(50);
      expect(r.h).toBeCloseTo(50);
    }
  });

  it('keeps rectangles near square where slicing would make slivers', () => {
    const values = Array.from({ length: 30 }, (_, i) => 30 - i);
    const rects = squarify(values, { x: 0, y: 0, w: 1000, h: 600 });
    const worst = Math.max(...rects.map((r) => Math.max(r.w / r.h, r.h / r.w)));
    expect(worst).toBeLessThan(4);
  });
});

describe('layoutTree', () => {
  const tree: TreeItem<string>[] = [
    { value: 60, data: 'usr', children: [{ value: 40, data: 'usr/lib', children: [{ value: 25, data: 'a' }, { value: 15, data: 'b' }] }, { value: 20, data: 'usr/share' }] },
    { value: 30, data: 'app' },
    { value: 10, data: 'etc', children: [{ value: 10, data: 'etc/x' }] },
  ];
  const box = { x: 0, y: 0, w: 800, h: 500 };

  it('without padding, the leaves tile the box with areas in proportion to their values', () => {
    const placed = layoutTree(tree, box);
    const leaves = placed.filter((p) => p.leaf);
    expect(leaves.map((l) => l.data).sort()).toEqual(['a', 'app', 'b', 'etc/x', 'usr/share']);
    expectTiling(leaves, box);
    const values: Record<string, number> = { a: 25, b: 15, 'usr/share': 20, app: 30, 'etc/x': 10 };
    for (const l of leaves) expect(area(l) / area(box)).toBeCloseTo(values[l.data]! / 100, 9);
  });

  it('places children inside their parent, parents first, with the padding kept free', () => {
    const placed = layoutTree(tree, box, { pad: { top: 16, side: 2 } });
    const at = (d: string) => placed.findIndex((p) => p.data === d);
    const usr = placed[at('usr')]!;
    const lib = placed[at('usr/lib')]!;
    expect(at('usr')).toBeLessThan(at('usr/lib'));
    expect(inside(lib, { x: usr.x + 2, y: usr.y + 16, w: usr.w - 4, h: usr.h - 18 })).toBe(true);
    expect(lib.depth).toBe(1);
    expect(placed[at('a')]!.depth).toBe(2);
    expectTiling(placed.filter((p) => p.depth === 0), box);
  });

  it('draws a parent too small for its padding as a leaf', () => {
    const placed = layoutTree([{ value: 1, data: 'tiny', children: [{ value: 1, data: 'kid' }] }], { x: 0, y: 0, w: 10, h: 10 }, { pad: { top: 16, side: 2 } });
    expect(placed).toEqual([{ x: 0, y: 0, w: 10, h: 10, data: 'tiny', depth: 0, leaf: true }]);
  });
});

describe('splitCell', () => {
  it('splits along the longer side in proportion, filling the cell', () => {
    const r = { x: 0, y: 0, w: 300, h: 100 };
    const [kept, removed] = splitCell(r, [1, 2]);
    expect(kept).toEqual({ x: 0, y: 0, w: 100, h: 100 });
    expect(removed).toEqual({ x: 100, y: 0, w: 200, h: 100 });
    const [top] = splitCell({ x: 5, y: 5, w: 10, h: 40 }, [1, 3]);
    expect(top).toEqual({ x: 5, y: 5, w: 10, h: 10 });
  });
});

describe('nestByPath', () => {
  it('nests each path under its nearest listed ancestor, with remainders that make parents add up', () => {
    const rest = (path: string, bytes: number) => ({ path: `${path} (rest)`, bytes });
    const tree = nestByPath(
      [
        { path: '/usr/lib/x86_64-linux-gnu', bytes: 50 },
        { path: '/usr', bytes: 80 },
        { path: '/usr/lib', bytes: 60 },
        { path: '/var/lib/dpkg', bytes: 10 },
        { path: '/usr/libexec', bytes: 5 },
      ],
      100,
      rest,
    );
    const shape = (t: TreeItem<{ path: string }>): unknown => (t.children ? { [t.data.path]: t.children.map(shape) } : `${t.data.path}=${t.value}`);
    expect(tree.map(shape)).toEqual([
      { '/usr': [{ '/usr/lib': ['/usr/lib/x86_64-linux-gnu=50', '/usr/lib (rest)=10'] }, '/usr/libexec=5', '/usr (rest)=15'] },
      '/var/lib/dpkg=10',
      '/ (rest)=10',
    ]);
  });
});
