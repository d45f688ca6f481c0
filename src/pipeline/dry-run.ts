import type { ClosureResult } from '../closure/closure.js';
import type { PackageFiles } from '../packages/types.js';
import { dryRunFigures, type DryRunReport } from '../report/dry-run.js';
import type { AccessRecord } from '../trace/record.js';
import { closureSection, probeSection } from './build-report.js';
import type { OpenedImage, TraceResult } from './build-types.js';
import type { PhaseClock } from './phase-clock.js';

/**
 * The report of `--dry-run`: the build stops after the closure, so this is all it knows. The
 * projected size is what the engine would count for the slim image (its files' bytes), without
 * what packing adds (tar headers, the config) or takes away (compression, for outputs that travel).
 */
export function dryRunReport(o: { input: string; opened: Pick<OpenedImage, 'inspect' | 'img'>; trace: TraceResult; records: readonly AccessRecord[]; closure: ClosureResult; packageFiles: PackageFiles; clock: PhaseClock }): DryRunReport {
  const { inspect, img } = o.opened;
  const figures = dryRunFigures(img.index, o.closure.selection, o.packageFiles);
  const t = (p: Parameters<PhaseClock['seconds']>[0]) => o.clock.seconds(p);
  return {
    schema: 'slim.report/v1',
    status: 'dry-run',
    input: { ref: o.input, id: inspect.id, size: inspect.size, files: img.index.stats().files, layers: img.layerCount },
    probe: probeSection(o.trace, o.records),
    closure: closureSection(o.closure),
    ...figures,
    projected: { size: figures.kept.bytes, sizeRatio: inspect.size / Math.max(1, figures.kept.bytes), estimate: 'sum of kept files, before compression' },
    timings: { read: t('read'), probe: t('probe'), closure: t('closure'), total: o.clock.total() },
  };
}
