import { formatBytes } from '../report.js';
import { esc, facts, list, page, raw, table, type Section } from './page.js';
import { barsSvg, legend, treemapSvg, type Cell } from './svg.js';
import { nestByPath, type TreeItem } from './treemap.js';

/**
 * What the page reads of `slim inspect`'s report (slim.inspect/v1). Spelled out here because the
 * report folder sits below inspect and may not import it; the report itself fits this shape.
 */
export interface InspectView {
  image: { ref: string; id: string; os: string; architecture: string; created: string | null };
  total: { bytes: number; files: number; entries: number; layers: number };
  layers: readonly { index: number; instruction: string; createdBy: string; bytes: number; files: number; wastedBytes: number; archive: { bytes: number; format: string } }[];
  configSteps: readonly string[];
  wasted: { bytes: number; files: number; layerFileBytes: number; top: readonly { path: string; bytes: number; addedIn: number; removedIn: number; how: string }[] };
  efficiency: number;
  largestDirs: readonly DirBytes[];
  packages: { dpkg: number | null; apk: number | null };
  tools: { shells: readonly string[]; packageManagers: readonly string[]; compilers: readonly string[] };
  setid: readonly { path: string; mode: string; setuid: boolean; setgid: boolean }[];
}

interface DirBytes {
  path: string;
  bytes: number;
  files: number;
}

const MAX_INSTRUCTION = 90;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const code = (s: string) => raw(`<code>${esc(s)}</code>`);

function layers(r: InspectView): Section {
  const rows = r.layers.map((l) => {
    const text = oneLine(l.instruction) || '(no history)';
    return {
      label: `#${l.index} ${text.length > MAX_INSTRUCTION ? text.slice(0, MAX_INSTRUCTION - 1) + '…' : text}`,
      title: `layer ${l.index}: ${formatBytes(l.bytes)} in ${l.files} files, ${formatBytes(l.wastedBytes)} later hidden; blob ${formatBytes(l.archive.bytes)} (${l.archive.format})\n${l.createdBy}`,
      parts: [
        { value: Math.max(0, l.bytes - l.wastedBytes), cls: 'bar' },
        { value: Math.min(l.bytes, l.wastedBytes), cls: 'removed' },
      ],
      note: formatBytes(l.bytes),
    };
  });
  const detail = table(
    ['#', 'size', 'blob', 'files', 'wasted', 'instruction'],
    r.layers.map((l) => [l.index, formatBytes(l.bytes), `${formatBytes(l.archive.bytes)} ${l.archive.format}`, l.files, formatBytes(l.wastedBytes), code(oneLine(l.createdBy) || '(no history)')]),
  );
  const steps = r.configSteps.length ? `<p class="muted">config steps without a layer: ${esc(r.configSteps.join('; '))}</p>` : '';
  return {
    id: 'layers',
    title: 'Layers',
    body: `${legend([
      ['bar', 'bytes still in the image'],
      ['removed', 'bytes a later layer hid'],
    ])}${barsSvg(rows, { label: 'layers by size', labelWidth: 600 })}${detail}${steps}`,
  };
}

function wasted(r: InspectView): Section {
  const w = r.wasted;
  const rows = w.top.map((x) => [code(x.path), formatBytes(x.bytes), x.addedIn, `${x.how} in ${x.removedIn}`]);
  return {
    id: 'wasted',
    title: 'Wasted bytes',
    body: `<p>${esc(formatBytes(w.bytes))} in ${w.files} file versions hidden by later layers, of ${esc(formatBytes(w.layerFileBytes))} of files in all layers; efficiency ${esc(r.efficiency === 1 ? '1' : r.efficiency.toFixed(6))}.</p>${table(['path', 'size', 'added in layer', 'hidden'], rows, { empty: 'no file was hidden by a later layer' })}`,
  };
}

/** The largest directories, nested where one holds another, as treemap items labelled relative to their parent. */
export function largestDirItems(dirs: readonly DirBytes[], total: number): TreeItem<Cell>[] {
  const tree = nestByPath(dirs, total, (path, bytes) => ({ path: path === '/' ? '(elsewhere)' : `${path}/…`, bytes, files: -1 }));
  const toCell = (it: TreeItem<DirBytes>, parent: string): TreeItem<Cell> => {
    const d = it.data;
    const rest = d.files < 0;
    const label = rest ? (d.path === '(elsewhere)' ? 'elsewhere' : 'other files') : parent && d.path.startsWith(parent + '/') ? d.path.slice(parent.length + 1) : d.path;
    const title = rest ? `${d.path}: ${formatBytes(d.bytes)} not in a listed directory below` : `${d.path}: ${formatBytes(d.bytes)} in ${d.files} files`;
    const cell: Cell = { label, title, parts: [{ value: d.bytes, cls: rest ? 'track' : 'bar' }] };
    return { value: it.value, data: cell, ...(it.children ? { children: it.children.map((c) => toCell(c, d.path)) } : {}) };
  };
  return tree.map((t) => toCell(t, ''));
}

function dirs(r: InspectView): Section {
  return {
    id: 'dirs',
    title: 'Largest directories',
    body: `${treemapSvg(largestDirItems(r.largestDirs, r.total.bytes), { label: 'treemap of the largest directories', height: 440 })}${table(
      ['directory', 'size', 'files'],
      r.largestDirs.map((d) => [code(d.path), formatBytes(d.bytes), d.files]),
    )}`,
  };
}

function contents(r: InspectView): Section[] {
  const p = r.packages;
  const t = r.tools;
  const tools = (xs: readonly string[]) => (xs.length ? raw(list(xs.map(code), { max: 30 })) : 'none');
  return [
    {
      id: 'packages',
      title: 'Packages',
      body: facts([
        ['dpkg', p.dpkg === null ? 'no database' : `${p.dpkg} installed`],
        ['apk', p.apk === null ? 'no database' : `${p.apk} installed`],
      ]),
    },
    { id: 'tools', title: 'Tools', body: facts([['shells', tools(t.shells)], ['package managers', tools(t.packageManagers)], ['compilers', tools(t.compilers)]]) },
    {
      id: 'setid',
      title: 'Setuid and setgid files',
      body: table(['path', 'mode', 'bits'], r.setid.map((s) => [code(s.path), s.mode, [s.setuid ? 'setuid' : '', s.setgid ? 'setgid' : ''].filter(Boolean).join(', ')]), { empty: 'none' }),
    },
  ];
}

/** `slim inspect`'s report as one self-contained HTML page. */
export function renderInspectHtml(r: InspectView): string {
  const lead = `<p><code>${esc(r.image.ref)}</code> <span class="muted">${esc(r.image.id.slice(7, 19))}, ${esc(`${r.image.os}/${r.image.architecture}`)}${r.image.created ? `, created ${esc(r.image.created)}` : ''}</span></p>${facts([
    ['total', `${formatBytes(r.total.bytes)} in ${r.total.files} files (${r.total.entries} entries), ${r.total.layers} layers`],
    ['wasted', `${formatBytes(r.wasted.bytes)} (efficiency ${r.efficiency === 1 ? '1' : r.efficiency.toFixed(6)})`],
  ])}`;
  return page({ title: `slim inspect ${r.image.ref}`, lead, sections: [layers(r), wasted(r), dirs(r), ...contents(r)] });
}
