import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { PackageFiles } from '../packages/types.js';
import type { BuildReport } from './report.js';
import { formatBytes } from './report.js';
import { treeSizes, type SizeNode } from './tree-sizes.js';

/** Bytes and regular files: what a group of the original weighs, kept and removed. */
export interface DryRunGroup {
  path: string;
  kept: number;
  removed: number;
}

/** What `slim build --dry-run` reports: the closure's outcome, with nothing packed, loaded, verified or written. */
export interface DryRunReport {
  schema: 'slim.report/v1';
  status: 'dry-run';
  input: BuildReport['input'];
  probe: BuildReport['probe'];
  closure: BuildReport['closure'];
  kept: { entries: number; files: number; bytes: number };
  removed: { files: number; bytes: number };
  /**
   * The slim image's size if it were built now: the bytes of the kept files, a hard-linked file
   * once. The engine counts an image's size the same way, before compression; the layer's tar
   * headers and the config are not in it.
   */
  projected: { size: number; sizeRatio: number; estimate: 'sum of kept files, before compression' };
  /** The directories holding most of the original's bytes, to `depth` levels, largest first. */
  dirs: { depth: number; groups: DryRunGroup[] };
  /** By the package owning each file (`(no package)` for the rest), largest first; null when the image has no package database. */
  packages: { name: string; kept: number; removed: number }[] | null;
  timings: Pick<BuildReport['timings'], 'read' | 'probe' | 'closure' | 'total'>;
}

export interface DryRunFigures {
  kept: DryRunReport['kept'];
  removed: DryRunReport['removed'];
  dirs: DryRunReport['dirs'];
  packages: DryRunReport['packages'];
}

/**
 * The kept and removed bytes of the original by directory and by package, from the same
 * attribution the HTML report's treemaps draw (tree-sizes), so the two never disagree.
 */
export function dryRunFigures(index: FileIndex, kept: { has(p: ImagePath): boolean; size: number }, packages: PackageFiles | null, opts: { depth?: number; top?: number } = {}): DryRunFigures {
  const depth = opts.depth ?? 2;
  const top = opts.top ?? 12;
  const sizes = treeSizes(index, kept, packages, { depth, minShare: 0, maxChildren: Number.MAX_SAFE_INTEGER, maxPackages: top + 1 });
  let keptFiles = 0;
  let removedFiles = 0;
  const seen = new Set<number>();
  const keptInodes = new Set<number>();
  for (const e of index.values()) if (e.kind === 'file' && kept.has(e.path)) keptInodes.add(e.inode);
  for (const e of index.values()) {
    if (e.kind !== 'file' || seen.has(e.inode)) continue;
    seen.add(e.inode);
    if (keptInodes.has(e.inode)) keptFiles++;
    else removedFiles++;
  }
  return {
    kept: { entries: kept.size, files: keptFiles, bytes: sizes.dirs.kept },
    removed: { files: removedFiles, bytes: sizes.dirs.removed },
    dirs: { depth, groups: leaves(sizes.dirs).sort((a, b) => b.kept + b.removed - (a.kept + a.removed) || (a.path < b.path ? -1 : 1)).slice(0, top) },
    packages: sizes.packages,
  };
}

/** The directories at the depth limit (and a shallower one's own files): groups that add up to the whole. */
function leaves(node: SizeNode): DryRunGroup[] {
  if (!node.children) return node.kept + node.removed > 0 ? [{ path: node.path, kept: node.kept, removed: node.removed }] : [];
  return node.children.flatMap(leaves);
}

/** The dry run for people: what would be kept and removed, where, and how big the slim image would be. */
export function renderDryRun(r: DryRunReport): string {
  const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((100 * part) / whole)}%` : '-');
  const row = (g: { kept: number; removed: number }, label: string) =>
    `    ${formatBytes(g.kept).padStart(9)} kept  ${formatBytes(g.removed).padStart(9)} removed  ${pct(g.kept, g.kept + g.removed).padStart(4)} kept  ${label}`;
  const total = r.kept.bytes + r.removed.bytes;
  const lines = [
    '',
    `slim dry run of ${r.input.ref}: nothing was packed, loaded, verified or written`,
    `  projected ${formatBytes(r.projected.size)} (${r.projected.sizeRatio.toFixed(1)}x smaller than ${formatBytes(r.input.size)}; an estimate: the ${r.projected.estimate})`,
    `  kept      ${r.kept.files} files, ${formatBytes(r.kept.bytes)} (${pct(r.kept.bytes, total)} of the bytes); ${r.kept.entries} entries in all`,
    `  removed   ${r.removed.files} files, ${formatBytes(r.removed.bytes)}`,
    `  probe     ${r.probe.backend}, ${r.probe.distinctPaths} distinct paths seen; check: ${r.probe.check}`,
    `  closure   ${Object.entries(r.closure.byReason).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  by directory (depth ${r.dirs.depth}, largest first):`,
    ...r.dirs.groups.map((g) => row(g, g.path)),
  ];
  if (r.packages) lines.push('  by package (largest first):', ...r.packages.map((p) => row(p, p.name)));
  else lines.push('  by package: the image has no package database');
  for (const w of r.closure.warnings.slice(0, 10)) lines.push(`  warning   ${w}`);
  lines.push(`  time      read ${r.timings.read.toFixed(1)}s, probe ${r.timings.probe.toFixed(1)}s, closure ${r.timings.closure.toFixed(1)}s, total ${r.timings.total.toFixed(1)}s`);
  return lines.join('\n');
}

/** What -q prints of a dry run: one line. */
export function dryRunQuietLine(r: DryRunReport): string {
  return `slim: dry run of ${r.input.ref}: would keep ${r.kept.files} files, ${formatBytes(r.projected.size)} (estimate, before compression; ${formatBytes(r.input.size)} now), remove ${r.removed.files} files, ${formatBytes(r.removed.bytes)}`;
}
