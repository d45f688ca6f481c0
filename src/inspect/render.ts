import { formatBytes } from '../report/report.js';
import type { InspectReport } from './analyse.js';
import type { DiffReport, Tally } from './diff.js';

const MAX_INSTRUCTION = 100;

function clip(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

const size = (n: number) => formatBytes(n).padStart(9);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const entries = (n: number) => (n === 1 ? '1 entry' : `${n} entries`);

export function renderInspect(r: InspectReport, opts: { top?: number } = {}): string {
  const top = opts.top ?? 10;
  const lines = [
    `slim inspect ${r.image.ref} (${r.image.id.slice(7, 19)}, ${r.image.os}/${r.image.architecture})`,
    `  total       ${formatBytes(r.total.bytes)} in ${plural(r.total.files, 'file')} (${entries(r.total.entries)}), ${plural(r.total.layers, 'layer')}`,
    `  efficiency  ${efficiency(r.efficiency)}: ${formatBytes(r.wasted.bytes)} wasted of ${formatBytes(r.wasted.layerFileBytes)} of files in the layers`,
    `  packages    ${packagesLine(r.packages)}`,
    `  shells      ${r.tools.shells.join(', ') || 'none'}`,
    `  pkg mgrs    ${r.tools.packageManagers.join(', ') || 'none'}`,
    `  compilers   ${r.tools.compilers.join(', ') || 'none'}`,
    `  setid       ${r.setid.map((s) => `${s.path} (${s.mode})`).join(', ') || 'none'}`,
    '',
    `layers (size: content as docker history counts it; blob: the layer as read (docker save, or the file), ${r.layers.every((l) => l.archive.format === 'tar') ? 'uncompressed tar' : 'as stored: tar, tar+gzip or tar+zstd'})`,
    `  #        size       blob     files     wasted  instruction`,
  ];
  for (const l of r.layers) {
    lines.push(`  ${String(l.index).padEnd(3)}${size(l.bytes)}  ${size(l.archive.bytes)}  ${String(l.files).padStart(8)}  ${size(l.wastedBytes)}  ${clip(l.instruction, MAX_INSTRUCTION) || '(no history)'}`);
  }
  if (r.configSteps.length) lines.push(`  config steps without a layer: ${clip(r.configSteps.join('; '), 200)}`);
  lines.push('', `wasted: ${formatBytes(r.wasted.bytes)} in ${plural(r.wasted.files, 'file version')} hidden by later layers`);
  for (const w of r.wasted.top.slice(0, top)) lines.push(`  ${size(w.bytes)}  ${w.path}  (added in layer ${w.addedIn}, ${w.how} in layer ${w.removedIn})`);
  lines.push('', 'largest directories');
  for (const d of r.largestDirs) lines.push(`  ${size(d.bytes)}  ${d.path}  (${plural(d.files, 'file')})`);
  return lines.join('\n') + '\n';
}

/** Enough digits that a little waste does not print as a perfect 1. */
function efficiency(e: number): string {
  return e === 1 ? '1' : e.toFixed(6);
}

function packagesLine(p: InspectReport['packages']): string {
  const parts = [p.dpkg !== null ? `dpkg ${p.dpkg}` : '', p.apk !== null ? `apk ${p.apk}` : ''].filter(Boolean);
  return parts.join(', ') || 'no dpkg or apk database';
}

const tallyLine = (t: Tally) => `${size(t.bytes)} in ${plural(t.files, 'file')} (${entries(t.entries)})`;

export function renderDiff(r: DiffReport, opts: { top?: number } = {}): string {
  const top = opts.top ?? 20;
  const lines = [
    `slim diff ${r.a.ref} → ${r.b.ref}`,
    `  A          ${size(r.a.bytes)} in ${plural(r.a.files, 'file')} (${entries(r.a.entries)})`,
    `  B          ${size(r.b.bytes)} in ${plural(r.b.files, 'file')} (${entries(r.b.entries)})`,
    `  removed    ${tallyLine(r.removed)}`,
    `  added      ${tallyLine(r.added)}`,
    `  changed    ${tallyLine(r.changed)}, ${formatBytes(r.changed.bytesBefore)} in A`,
    `  unchanged  ${tallyLine(r.unchanged)}`,
  ];
  if (r.dirs) {
    lines.push('', `by directory (depth ${r.dirs.depth}; ${r.dirs.groups.length} with differences)`, `     removed      added  directory`);
    for (const g of r.dirs.groups.slice(0, top)) {
      lines.push(`  ${size(g.removed.bytes)}  ${size(g.added.bytes)}  ${g.path}  (files: ${g.removed.files} removed, ${g.added.files} added, ${g.kept.files} kept; entries: ${g.removed.entries} removed, ${g.added.entries} added)`);
    }
  }
  if (r.packages) {
    const touched = r.packages.filter((p) => p.filesRemoved > 0);
    lines.push('', `by package of A (${touched.length} of ${r.packages.length} packages lost files)`, `   kept     removed  files kept/all  package`);
    for (const p of touched.slice(0, top)) {
      lines.push(`  ${(p.keptFraction * 100).toFixed(0).padStart(4)}%  ${size(p.bytesRemoved)}  ${`${p.filesKept}/${p.files}`.padStart(14)}  ${p.name}`);
    }
  }
  return lines.join('\n') + '\n';
}
