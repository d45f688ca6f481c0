import { formatBytes } from '../report.js';
import { esc, facts, page, raw, table, type Section } from './page.js';
import { barsSvg, legend, treemapSvg, type Cell } from './svg.js';
import type { TreeItem } from './treemap.js';

interface TallyView {
  entries: number;
  files: number;
  bytes: number;
}

/** What the page reads of `slim diff`'s report (slim.diff/v1), spelled out as the report folder may not import inspect. */
export interface DiffView {
  a: { ref: string; id: string; bytes: number; files: number; entries: number };
  b: { ref: string; id: string; bytes: number; files: number; entries: number };
  removed: TallyView;
  added: TallyView;
  changed: TallyView & { bytesBefore: number };
  unchanged: TallyView;
  dirs?: { depth: number; groups: readonly { path: string; removed: TallyView; added: TallyView; kept: TallyView }[] };
  packages?: readonly { name: string; files: number; filesKept: number; filesRemoved: number; bytes: number; bytesKept: number; bytesRemoved: number; keptFraction: number }[];
}

const MAX_ROWS = 40;
const MAX_BARS = 20;
const code = (s: string) => raw(`<code>${esc(s)}</code>`);
const tally = (t: TallyView) => `${formatBytes(t.bytes)} in ${t.files} files (${t.entries} entries)`;
const pct = (f: number) => `${(f * 100).toFixed(0)}%`;

function cellOf(label: string, title: string, kept: number, removed: number): Cell {
  return { label, title, parts: [{ value: kept, cls: 'kept' }, { value: removed, cls: 'removed' }] };
}

function dirs(d: NonNullable<DiffView['dirs']>): Section {
  const items: TreeItem<Cell>[] = d.groups
    .filter((g) => g.kept.bytes + g.removed.bytes > 0)
    .map((g) => ({
      value: g.kept.bytes + g.removed.bytes,
      data: cellOf(g.path, `${g.path}: ${formatBytes(g.kept.bytes)} of A kept, ${formatBytes(g.removed.bytes)} removed, ${formatBytes(g.added.bytes)} added`, g.kept.bytes, g.removed.bytes),
    }));
  const shown = d.groups.slice(0, MAX_ROWS);
  const bars = shown.slice(0, MAX_BARS).map((g) => ({
    label: g.path,
    title: `${g.path}: files ${g.removed.files} removed, ${g.added.files} added, ${g.kept.files} kept`,
    parts: [
      { value: g.removed.bytes, cls: 'removed' },
      { value: g.added.bytes, cls: 'added' },
    ],
    note: `−${formatBytes(g.removed.bytes)} +${formatBytes(g.added.bytes)}`,
  }));
  const rows = shown.map((g) => [code(g.path), formatBytes(g.removed.bytes), formatBytes(g.added.bytes), `${g.removed.files} removed, ${g.added.files} added, ${g.kept.files} kept`]);
  return {
    id: 'dirs',
    title: 'Directories that differ',
    body: `<p>${d.groups.length} directories (cut at depth ${d.depth}) with files removed or added; A's bytes in them:</p>${legend([
      ['kept', 'in both'],
      ['removed', 'only in A'],
    ])}${treemapSvg(items, { label: 'treemap of the directories that differ, by bytes of A', height: 420 })}${legend([
      ['removed', 'removed (only in A)'],
      ['added', 'added (only in B)'],
    ])}${barsSvg(bars, { label: 'bytes removed and added per directory', labelWidth: 420 })}${table(['directory', 'removed', 'added', 'files'], rows)}`,
  };
}

function packages(ps: NonNullable<DiffView['packages']>): Section {
  const touched = ps.filter((p) => p.filesRemoved > 0);
  const items: TreeItem<Cell>[] = touched
    .filter((p) => p.bytes > 0)
    .map((p) => ({ value: p.bytes, data: cellOf(p.name, `${p.name}: ${pct(p.keptFraction)} kept, ${formatBytes(p.bytesRemoved)} removed of ${formatBytes(p.bytes)}; files ${p.filesKept}/${p.files}`, p.bytesKept, p.bytesRemoved) }));
  const rows = touched.slice(0, MAX_ROWS).map((p) => [p.name, pct(p.keptFraction), formatBytes(p.bytesRemoved), `${p.filesKept}/${p.files}`]);
  return {
    id: 'packages',
    title: 'Packages of A that lost files',
    body: `<p>${touched.length} of ${ps.length} packages lost files.</p>${items.length ? legend([['kept', 'kept'], ['removed', 'removed']]) + treemapSvg(items, { label: 'treemap of the packages that lost files', height: 380 }) : ''}${table(
      ['package', 'kept', 'removed', 'files kept/all'],
      rows,
      { empty: 'no package lost a file' },
    )}`,
  };
}

/** `slim diff`'s report as one self-contained HTML page. */
export function renderDiffHtml(r: DiffView): string {
  const lead = `<p><code>${esc(r.a.ref)}</code> → <code>${esc(r.b.ref)}</code></p>${facts([
    ['A', `${formatBytes(r.a.bytes)} in ${r.a.files} files (${r.a.entries} entries)`],
    ['B', `${formatBytes(r.b.bytes)} in ${r.b.files} files (${r.b.entries} entries)`],
    ['removed', tally(r.removed)],
    ['added', tally(r.added)],
    ['changed', `${tally(r.changed)}, ${formatBytes(r.changed.bytesBefore)} in A`],
    ['unchanged', tally(r.unchanged)],
  ])}`;
  return page({ title: `slim diff ${r.a.ref} → ${r.b.ref}`, lead, sections: [...(r.dirs ? [dirs(r.dirs)] : []), ...(r.packages ? [packages(r.packages)] : [])] });
}
