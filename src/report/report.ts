import type { ProbeBackend } from '../probe/run-probe.js';

export type CheckStatus = 'pass' | 'fail' | 'skipped';

/** The one report: printed as JSON with --json / --report FILE, rendered as text for people. */
export interface BuildReport {
  schema: 'slim.report/v1';
  status: 'ok' | 'verify-failed';
  input: { ref: string; id: string; size: number; files: number; layers: number };
  output: { ref: string | null; written: string[]; id: string; digest: string; size: number; files: number; entries: number; layerSize: number };
  reduction: { sizeRatio: number; filesRatio: number };
  probe: { backend: ProbeBackend | 'trace-file'; records: number; distinctPaths: number; skippedLines: number; check: string };
  closure: { kept: number; byReason: Record<string, number>; warnings: string[] };
  verify: { original: CheckStatus; slim: CheckStatus; details: { original: string; slim: string }; healthcheck: { original: 'pass' | 'fail' | 'none'; slim: 'pass' | 'fail' | 'none' } };
  timings: { read: number; probe: number; closure: number; pack: number; verify: number; total: number };
}

const MB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * MB) return `${(n / 1024 / MB).toFixed(2)} GB`;
  if (n >= MB) return `${(n / MB).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

export function renderText(r: BuildReport): string {
  const t = r.timings;
  const lines = [
    '',
    `slim ${r.status === 'ok' ? 'built' : 'FAILED to verify'} ${r.output.ref ?? r.output.id.slice(7, 19)} from ${r.input.ref}`,
    `  size     ${formatBytes(r.input.size).padStart(9)} → ${formatBytes(r.output.size).padStart(9)}   (${r.reduction.sizeRatio.toFixed(1)}x smaller; layer ${formatBytes(r.output.layerSize)} gzip)`,
    `  files    ${String(r.input.files).padStart(9)} → ${String(r.output.files).padStart(9)}   (${r.reduction.filesRatio.toFixed(1)}x fewer)`,
    `  probe    ${r.probe.backend}, ${r.probe.distinctPaths} distinct paths seen; check: ${r.probe.check}`,
    `  closure  ${r.closure.kept} entries kept: ${Object.entries(r.closure.byReason).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  verify   original ${r.verify.original}, slim ${r.verify.slim}${r.verify.slim === 'fail' ? ` (${r.verify.details.slim})` : ''}${r.verify.healthcheck.original !== 'none' ? `; HEALTHCHECK original ${r.verify.healthcheck.original}, slim ${r.verify.healthcheck.slim}` : ''}`,
    `  time     read ${t.read.toFixed(1)}s, probe ${t.probe.toFixed(1)}s, closure ${t.closure.toFixed(1)}s, pack ${t.pack.toFixed(1)}s, verify ${t.verify.toFixed(1)}s, total ${t.total.toFixed(1)}s`,
  ];
  for (const w of r.output.written.slice(r.output.ref ? 1 : 0)) lines.push(`  written  ${w}`);
  for (const w of r.closure.warnings.slice(0, 10)) lines.push(`  warning  ${w}`);
  if (r.closure.warnings.length > 10) lines.push(`  warning  … and ${r.closure.warnings.length - 10} more (see --json)`);
  return lines.join('\n');
}
