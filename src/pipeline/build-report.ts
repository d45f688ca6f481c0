import type { ClosureResult } from '../closure/closure.js';
import type { Verdict } from '../verify/checks.js';
import type { AccessRecord } from '../trace/record.js';
import type { BuildReport, HardenReport, RebuildReport } from '../report/report.js';
import { largestRemoved } from '../report/removed.js';
import { treeSizes } from '../report/tree-sizes.js';
import type { PackageFiles } from '../packages/types.js';
import type { Budget } from './budget.js';
import type { Baseline } from './verify-step.js';
import type { Packed } from './pack-step.js';
import type { RepairReport } from './repair-loop.js';
import type { PhaseClock } from './phase-clock.js';
import type { OpenedImage, TraceResult } from './build-types.js';

/** What the steps of a build came to: everything the report says, and nothing it has to look up. */
export interface BuildOutcome {
  input: string;
  opened: Pick<OpenedImage, 'inspect' | 'img'>;
  trace: TraceResult;
  /** Every record the closure used: the probe's, the probed baseline's, the repair rounds'. */
  records: readonly AccessRecord[];
  closure: ClosureResult;
  baseline: Baseline;
  verdict: Verdict;
  repair: RepairReport;
  harden: HardenReport | null;
  rebuild?: RebuildReport[];
  packed: Pick<Packed, 'plan' | 'layer' | 'built' | 'slimId'>;
  /** The slim image's size as the engine gives it. */
  size: number;
  budget: Budget & { broken: string[] };
  /** What was written, `docker:NAME` first; `engineRef` when the engine got a name. */
  written: string[];
  engineRef: string | null;
  sbom: { packages: number; file?: string };
  clock: PhaseClock;
  /** The original's package database's files, for the report's sizes by package. */
  packageFiles?: PackageFiles;
}

/** The report of a build, from its steps' outcomes alone. */
export function buildReport(o: BuildOutcome): BuildReport {
  const { inspect, img } = o.opened;
  const inputFiles = img.index.stats().files;
  const { plan, layer, built, slimId } = o.packed;
  const outFiles = plan.entries.filter((e) => e.entry.kind === 'file').length;
  const { original } = o.baseline;
  const hc = o.verdict.checks.find((c) => c.name === 'HEALTHCHECK');
  const slimHealth = hc ? hc.slim : original.health.result;
  const t = (p: Parameters<PhaseClock['seconds']>[0]) => o.clock.seconds(p);
  return {
    schema: 'slim.report/v1',
    status: !o.verdict.passed ? 'verify-failed' : o.budget.broken.length ? 'over-budget' : 'ok',
    budget: o.budget,
    input: { ref: o.input, id: inspect.id, size: inspect.size, files: inputFiles, layers: img.layerCount },
    output: { ref: o.engineRef, written: o.written, id: slimId, digest: built.manifestDigest, size: o.size, files: outFiles, entries: plan.entries.length, layerSize: layer.size, layerMediaType: layer.mediaType },
    reduction: { sizeRatio: inspect.size / Math.max(1, o.size), filesRatio: inputFiles / Math.max(1, outFiles) },
    probe: probeSection(o.trace, o.records),
    closure: closureSection(o.closure),
    removed: { largestDirs: largestRemoved(img.index, o.closure.selection) },
    sizes: treeSizes(img.index, o.closure.selection, o.packageFiles ?? null),
    verify: {
      original: 'pass',
      slim: o.verdict.passed ? 'pass' : 'fail',
      details: { original: original.summary, slim: o.verdict.summary },
      healthcheck: { original: original.health.result, slim: slimHealth === 'not-run' ? 'none' : slimHealth },
      checks: o.verdict.checks,
      ...(!o.verdict.passed && o.verdict.output ? { output: o.verdict.output } : {}),
    },
    repair: o.repair,
    harden: o.harden,
    ...(o.rebuild?.length ? { rebuild: o.rebuild } : {}),
    sbom: { format: 'CycloneDX 1.5', ...o.sbom },
    timings: { read: t('read'), probe: t('probe'), closure: t('closure'), pack: t('pack'), verify: t('verify'), repair: t('repair'), ...(t('rebuild') ? { rebuild: t('rebuild') } : {}), total: o.clock.total() },
  };
}

/** The report's probe section: what the trace saw (a dry run's report has it too). */
export function probeSection(trace: TraceResult, records: readonly AccessRecord[]): BuildReport['probe'] {
  return { backend: trace.backend, records: records.length, distinctPaths: new Set(records.map((r) => r.path)).size, skippedLines: trace.skippedLines, check: trace.summary };
}

/** The report's closure section: what was kept and why (a dry run's report has it too). */
export function closureSection(closure: ClosureResult): BuildReport['closure'] {
  return { kept: closure.selection.size, byReason: closure.selection.countByFirstReason(), presets: closure.presets, packages: closure.packages, excluded: closure.excluded, warnings: closure.warnings };
}
