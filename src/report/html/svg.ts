import { esc } from './page.js';
import { layoutTree, type Rect, type TreeItem } from './treemap.js';

/** What a treemap cell shows: parts are drawn side by side inside a leaf, each with its CSS class. */
export interface Cell {
  label: string;
  /** The tooltip: the full path and its numbers. */
  title: string;
  parts: readonly { value: number; cls: string }[];
}

const n = (v: number) => String(Math.round(v * 100) / 100);
const rect = (r: Rect, cls: string) => `<rect class="${cls}" x="${n(r.x)}" y="${n(r.y)}" width="${n(r.w)}" height="${n(r.h)}"/>`;
const CHAR = 6.3; // px per character of 11px text, a little generous so labels never overflow

/** The label cut to fit a width, or null when not even a few characters fit. */
export function fitLabel(s: string, width: number): string | null {
  const max = Math.floor((width - 6) / CHAR);
  if (max < 3) return null;
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

function label(s: string, x: number, y: number, w: number, cls = 'lbl'): string {
  // Headers are bold: a tenth wider a character.
  const t = fitLabel(s, cls === 'hd' ? w * 0.9 : w);
  return t === null ? '' : `<text class="${cls}" x="${n(x + 3)}" y="${n(y + 12)}">${esc(t)}</text>`;
}

/** Splits a leaf's rectangle among its parts along its longer side, areas in proportion. */
export function splitCell(r: Rect, parts: readonly number[]): Rect[] {
  const total = parts.reduce((s, v) => s + Math.max(0, v), 0);
  const alongX = r.w >= r.h;
  let at = alongX ? r.x : r.y;
  return parts.map((v) => {
    const len = total > 0 ? ((alongX ? r.w : r.h) * Math.max(0, v)) / total : 0;
    const out = alongX ? { x: at, y: r.y, w: len, h: r.h } : { x: r.x, y: at, w: r.w, h: len };
    at += len;
    return out;
  });
}

/**
 * A treemap as inline SVG: a parent is a grey band with its label on top and its children
 * inside; a leaf is filled by its parts. Every cell carries a tooltip.
 */
export function treemapSvg(items: readonly TreeItem<Cell>[], opts: { width?: number; height?: number; label: string }): string {
  const width = opts.width ?? 1180;
  const height = opts.height ?? 520;
  const placed = layoutTree(items, { x: 0, y: 0, w: width, h: height }, { pad: { top: 16, side: 2 }, minSide: 18 });
  const cells = placed.map((p) => {
    const tip = `<title>${esc(p.data.title)}</title>`;
    if (!p.leaf) return `<g class="node">${tip}${rect(p, 'head')}${label(p.data.label, p.x, p.y, p.w, 'hd')}</g>`;
    const parts = splitCell(p, p.data.parts.map((x) => x.value));
    const fills = parts.map((r, i) => (r.w > 0 && r.h > 0 ? rect(r, `cell ${p.data.parts[i]!.cls}`) : '')).join('');
    return `<g class="leaf">${tip}${fills}${p.h >= 16 ? label(p.data.label, p.x, p.y, p.w) : ''}</g>`;
  });
  return `<svg class="treemap" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(opts.label)}">\n${cells.join('\n')}\n</svg>`;
}

export interface Bar {
  label: string;
  title?: string;
  parts: readonly { value: number; cls: string }[];
  /** Text after the bar: the number it stands for. */
  note: string;
}

/** Horizontal bars on one scale (the largest row, or `max`), a row each, labels on the left. */
export function barsSvg(rows: readonly Bar[], opts: { width?: number; labelWidth?: number; max?: number; label: string }): string {
  const width = opts.width ?? 1180;
  const labelWidth = opts.labelWidth ?? 360;
  const noteWidth = 170;
  const barWidth = width - labelWidth - noteWidth;
  const rowH = 20;
  const max = opts.max ?? Math.max(0, ...rows.map((r) => r.parts.reduce((s, p) => s + Math.max(0, p.value), 0)));
  const lines = rows.map((r, i) => {
    const y = i * rowH;
    let x = labelWidth;
    const bars = r.parts.map((p) => {
      const w = max > 0 ? (barWidth * Math.max(0, p.value)) / max : 0;
      const out = w > 0 ? rect({ x, y: y + 3, w: Math.max(w, 1), h: rowH - 6 }, p.cls) : '';
      x += w;
      return out;
    });
    const text = fitLabel(r.label, labelWidth - 8) ?? '';
    return `<g>${r.title ? `<title>${esc(r.title)}</title>` : ''}${rect({ x: labelWidth, y: y + 3, w: barWidth, h: rowH - 6 }, 'track')}${bars.join('')}<text x="0" y="${y + 14}">${esc(text)}</text><text x="${n(Math.max(x, labelWidth) + 6)}" y="${y + 14}">${esc(r.note)}</text></g>`;
  });
  const height = Math.max(rowH, rows.length * rowH);
  return `<svg class="bars" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(opts.label)}">\n${lines.join('\n')}\n</svg>`;
}

/** The key under a chart: a swatch per CSS class. */
export function legend(entries: readonly [cls: string, text: string][]): string {
  return `<div class="legend">${entries.map(([cls, text]) => `<span class="sw ${cls}"></span>${esc(text)}`).join('')}</div>`;
}
