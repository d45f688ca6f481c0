import { ExitCode, SlimError } from '../errors.js';
import type { ProbeBackend } from '../probe/run-probe.js';
import type { CheckComparison } from '../verify/checks.js';
import type { RemovedDir } from './removed.js';
import type { TreeSizes } from './tree-sizes.js';
import type { Pushed } from '../registry/push.js';

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface HardenStep {
  step: 'setid' | 'tools' | 'tools-used' | 'user' | 'seccomp' | 'read-only';
  result: 'done' | 'pass' | 'fail' | 'warning' | 'skipped';
  detail: string;
  paths?: string[];
  /** A failed seccomp step: the last lines the slim image's container printed under the profile, and the original's. */
  output?: { slim: string[]; original: string[] };
}

export interface HardenReport {
  steps: HardenStep[];
  /** Where the seccomp profile was written, when it was made. */
  seccompProfile?: string;
  /** The read-only root check, with the tmpfs mounts it used (where the app wrote while probed). */
  readOnly: { result: 'pass' | 'fail' | 'skipped'; tmpfs: string[]; detail?: string };
}

/** One --rebuild target: the files rebuilt smaller, and the checks that decided whether they stay. */
export interface RebuildReport {
  target: 'jvm' | 'icu';
  /** The rebuilt files are in the slim image; else the image keeps the originals, and `reason` says why. */
  applied: boolean;
  reason?: string;
  files: { path: string; before: number; after: number }[];
  /** Bytes the rebuild took off the slim image (0 when not applied). */
  removedBytes: number;
  /** What the rebuild was made from: for jvm, the modules given to jlink and where its jmods came from. */
  detail: Record<string, string | string[]>;
  checks: { name: string; passed: boolean; detail: string }[];
  seconds: number;
}

/** The one report: printed as JSON with --json / --report FILE, rendered as text for people. */
export interface BuildReport {
  schema: 'slim.report/v1';
  status: 'ok' | 'verify-failed' | 'over-budget';
  /** --max-size (bytes) and --min-reduction, and what the image broke of them. */
  budget: { maxSize?: number; minReduction?: number; broken: string[] };
  input: { ref: string; id: string; size: number; files: number; layers: number };
  output: {
    ref: string | null;
    written: string[];
    id: string;
    digest: string;
    size: number;
    files: number;
    entries: number;
    layerSize: number;
    /** The layer as written: a plain tar for the engine alone, gzip when an output travels. */
    layerMediaType: string;
    /** --keep-failed: the engine tag the failed slim image was kept under (`<output name>-failed`). */
    keptFailed?: string;
    /** Registry pushes: `HOST/REPO:TAG@DIGEST`, blob outcomes and the attached artifacts (absent from the attached copy of this report). */
    pushed?: Pushed[];
  };
  reduction: { sizeRatio: number; filesRatio: number };
  probe: { backend: ProbeBackend | 'trace-file'; records: number; distinctPaths: number; skippedLines: number; check: string };
  closure: {
    kept: number;
    byReason: Record<string, number>;
    /** Paths each --keep preset matched. */
    presets: Partial<Record<string, number>>;
    /** Packages kept whole by --keep-packages. */
    packages: string[];
    /** Paths --exclude kept out. */
    excluded: number;
    warnings: string[];
  };
  /** Where the removed bytes were. */
  removed: { largestDirs: RemovedDir[] };
  /** The original's bytes by directory (to `depth`) and by package, kept and removed: what --html draws as treemaps. */
  sizes?: TreeSizes;
  verify: {
    original: CheckStatus;
    slim: CheckStatus;
    details: { original: string; slim: string };
    healthcheck: { original: 'pass' | 'fail' | 'none'; slim: 'pass' | 'fail' | 'none' };
    /** Every check, on both images (of the last round when repaired). */
    checks: CheckComparison[];
    /**
     * Only when the slim image failed: the last lines (up to 10) its container printed, stdout and
     * stderr as they came, in the failing verification run, and the original's in its run of the same checks.
     */
    output?: { slim: string[]; original: string[] };
  };
  repair: {
    result: 'not-needed' | 'repaired' | 'failed' | 'off';
    rounds: number;
    /** Each added path, the round that added it and the checks that failed without it: candidates for --include. */
    added: { path: string; round: number; neededBy: string[]; seenIn: 'slim image' | 'original' }[];
    note?: string;
  };
  /** The SBOM of the slim image: packages from the original with files kept (written with --sbom, attached when pushing). */
  sbom: { format: 'CycloneDX 1.5'; packages: number; file?: string };
  /** --harden's steps; null without --harden. */
  harden: HardenReport | null;
  /** --rebuild's targets, in order; absent without --rebuild. */
  rebuild?: RebuildReport[];
  timings: { read: number; probe: number; closure: number; pack: number; verify: number; repair: number; rebuild?: number; push?: number; total: number };
}

/**
 * What --json and --report FILE get when the build stops with an error instead of a result: the
 * error as slim prints it, and what the build had done by then.
 */
export interface BuildErrorReport {
  schema: 'slim.report/v1';
  status: 'error';
  error: { code: string; message: string; hint: string | null; exitCode: number };
  /** null when the build stopped before it knew its image (no IMAGE given). */
  input: { ref: string | null };
  /** Seconds in each phase that ran (the one that failed included), and in all. */
  timings: Partial<Record<keyof Omit<BuildReport['timings'], 'total'>, number>> & { total: number };
}

export function errorReport(ref: string | null, err: unknown, timings: BuildErrorReport['timings']): BuildErrorReport {
  const slim = err instanceof SlimError ? err : undefined;
  return {
    schema: 'slim.report/v1',
    status: 'error',
    error: {
      code: slim?.code ?? 'INTERNAL',
      message: err instanceof Error ? err.message : String(err),
      hint: slim?.hint ?? null,
      exitCode: slim?.exitCode ?? ExitCode.error,
    },
    input: { ref },
    timings,
  };
}

/** Decimal units, as `docker images` prints sizes. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** The slim image as the summary names it: its tag, else where it was pushed, else its short id. */
export function outputName(r: BuildReport): string {
  return r.output.ref ?? r.output.pushed?.[0]?.ref.replace(/@sha256:.*$/, '') ?? r.output.id.slice(7, 19);
}

/** What -q prints of a build that ran to its end: one line, whatever happened. */
export function quietLine(r: BuildReport): string {
  const ratio = r.reduction.sizeRatio;
  const sizes = `${formatBytes(r.input.size)} → ${formatBytes(r.output.size)}, ${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}x`;
  const took = `in ${r.timings.total.toFixed(1)} s`;
  if (r.status === 'ok') return `slim: built ${outputName(r)} (${sizes}) ${took}`;
  if (r.status === 'over-budget') return `slim: built ${outputName(r)} (${sizes}) ${took}, but over budget: ${r.budget.broken.join('; ')}; nothing written or tagged`;
  const failed = r.verify.checks.filter((c) => c.slim === 'fail');
  const why = failed.length ? failed.map((c) => `${c.name}: ${c.detail}`).join('; ') : r.verify.details.slim;
  const repaired = r.repair.rounds ? ` after ${r.repair.rounds} repair round${r.repair.rounds === 1 ? '' : 's'}` : '';
  return `slim: FAILED to verify the slim image of ${r.input.ref}${repaired} (${took}): ${why}${r.output.keptFailed ? `; kept as ${r.output.keptFailed}` : ''}`;
}

export function renderText(r: BuildReport): string {
  const t = r.timings;
  const lines = [
    '',
    `slim ${r.status === 'ok' ? 'built' : r.status === 'over-budget' ? 'built, but OVER BUDGET:' : 'FAILED to verify'} ${outputName(r)} from ${r.input.ref}`,
    `  size     ${formatBytes(r.input.size).padStart(9)} → ${formatBytes(r.output.size).padStart(9)}   (${r.reduction.sizeRatio.toFixed(1)}x smaller; layer ${formatBytes(r.output.layerSize)} ${r.output.layerMediaType.endsWith('+gzip') ? 'gzip' : 'tar'})`,
    `  files    ${String(r.input.files).padStart(9)} → ${String(r.output.files).padStart(9)}   (${r.reduction.filesRatio.toFixed(1)}x fewer)`,
    `  removed  ${r.removed.largestDirs.slice(0, 5).map((d) => `${d.path} ${formatBytes(d.bytes)}`).join(', ') || 'nothing'}`,
    `  probe    ${r.probe.backend}, ${r.probe.distinctPaths} distinct paths seen; check: ${r.probe.check}`,
    `  closure  ${r.closure.kept} entries kept: ${Object.entries(r.closure.byReason).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  for (const b of r.budget.broken) lines.push(`  budget   ${b}`);
  const presets = Object.entries(r.closure.presets);
  if (presets.length) lines.push(`  keep     ${presets.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.closure.packages.length) lines.push(`  packages ${r.closure.packages.length} kept whole: ${r.closure.packages.slice(0, 12).join(', ')}${r.closure.packages.length > 12 ? ', …' : ''}`);
  if (r.closure.excluded) lines.push(`  exclude  ${r.closure.excluded} paths kept out`);
  for (const c of r.verify.checks) lines.push(`  check    ${c.slim === 'pass' ? 'pass' : c.slim === 'fail' ? 'FAIL' : '----'}  ${c.name} (original ${c.original}, slim ${c.slim}${c.slim !== 'pass' ? `: ${c.detail}` : ''})`);
  if (r.verify.output) lines.push(...outputLines(r.verify.output));
  if (r.output.keptFailed) lines.push(`  kept     the failed slim image as ${r.output.keptFailed} (look inside: slim debug ${r.output.keptFailed}; remove: docker rmi ${r.output.keptFailed})`);
  if (r.repair.result !== 'not-needed') {
    lines.push(`  repair   ${r.repair.result}${r.repair.rounds ? ` after ${r.repair.rounds} round${r.repair.rounds === 1 ? '' : 's'}` : ''}${r.repair.note ? ` (${r.repair.note})` : ''}`);
    for (const a of r.repair.added.slice(0, 15)) lines.push(`  added    ${a.path}  (round ${a.round}, needed by ${a.neededBy.join(', ')}; seen in the ${a.seenIn})`);
    if (r.repair.added.length > 15) lines.push(`  added    … and ${r.repair.added.length - 15} more (see --json)`);
    if (r.repair.added.length) lines.push(`  hint     keep them without repair next time: ${r.repair.added.slice(0, 3).map((a) => `--include ${a.path}`).join(' ')}${r.repair.added.length > 3 ? ' …' : ''}`);
  }
  for (const h of r.harden?.steps ?? []) lines.push(`  harden   ${h.result.padEnd(7)} ${h.step}: ${h.detail}`);
  for (const b of r.rebuild ?? []) lines.push(...rebuildLines(b));
  lines.push(`  time     read ${t.read.toFixed(1)}s, probe ${t.probe.toFixed(1)}s, closure ${t.closure.toFixed(1)}s, pack ${t.pack.toFixed(1)}s, verify ${t.verify.toFixed(1)}s${t.repair ? `, repair ${t.repair.toFixed(1)}s` : ''}${t.rebuild ? `, rebuild ${t.rebuild.toFixed(1)}s` : ''}${t.push ? `, push ${t.push.toFixed(1)}s` : ''}, total ${t.total.toFixed(1)}s`);
  for (const w of r.output.written.slice(r.output.ref ? 1 : 0)) if (!(r.output.pushed && w.startsWith('registry:'))) lines.push(`  written  ${w}`);
  for (const p of r.output.pushed ?? []) {
    lines.push(`  pushed   ${p.ref} (blobs: ${p.blobs.uploaded} uploaded, ${p.blobs.mounted} mounted, ${p.blobs.existed} already there)`);
    for (const a of p.attachments) lines.push(`  attached ${a.artifactType} ${a.digest} (${a.via})`);
  }
  if (r.sbom.file) lines.push(`  sbom     ${r.sbom.file} (${r.sbom.format}, ${r.sbom.packages} packages)`);
  for (const w of r.closure.warnings.slice(0, 10)) lines.push(`  warning  ${w}`);
  if (r.closure.warnings.length > 10) lines.push(`  warning  … and ${r.closure.warnings.length - 10} more (see --json)`);
  return lines.join('\n');
}

function rebuildLines(b: RebuildReport): string[] {
  const files = b.files.map((f) => `${f.path} ${formatBytes(f.before)} → ${formatBytes(f.after)}`).join(', ');
  const head = b.applied ? `  rebuild  ${b.target}: ${formatBytes(b.removedBytes)} less (${files})` : `  rebuild  ${b.target}: NOT applied, the original files are kept: ${b.reason}`;
  return [head, ...b.checks.map((c) => `  rebuild  ${c.passed ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`)];
}

/** The end of what each container printed, side by side in one column each: the slim image's first. */
function outputLines(o: NonNullable<BuildReport['verify']['output']>): string[] {
  const block = (title: string, ls: string[]) => [`  output   ${title}${ls.length ? ':' : ': nothing'}`, ...ls.map((l) => `           | ${l}`)];
  return [...block(`the slim image's container, last ${o.slim.length} lines (stdout and stderr)`, o.slim), ...block(`the original's, same checks, last ${o.original.length} lines`, o.original)];
}
