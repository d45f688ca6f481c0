import { computeClosure, type ClosurePolicy, type ClosureResult } from '../closure/closure.js';
import type { ImagePath } from '../rootfs/entry.js';
import type { AccessRecord } from '../trace/record.js';
import type { PackageDatabase } from '../packages/types.js';
import { dropUnusedTools, setidFiles } from '../harden/tools.js';
import { commandOf, volumeTargets, type RunSettings } from '../runtime/run-settings.js';
import { PROBE_DIR, OUT_DIR } from '../probe/run-probe.js';
import { healthcheckArgv } from '../verify/healthcheck.js';
import type { HardenContent } from './harden-checks.js';
import type { BuildOptions, OpenedImage } from './build-types.js';

/** The closure, and what --harden takes out of it before it is packed. */
export interface Closed {
  closure: ClosureResult;
  hardened: HardenContent;
}

export type ClosureOptions = Pick<BuildOptions, 'include' | 'includeBin' | 'exclude' | 'presets' | 'keepPackages'>;

/** Paths the trace sees that are not the image's: the probe's own mounts and the run's volumes. */
export function ignoredPaths(settings: RunSettings): string[] {
  return [PROBE_DIR, OUT_DIR, ...volumeTargets(settings)];
}

export function closurePolicy(opts: ClosureOptions, opened: OpenedImage, settings: RunSettings): ClosurePolicy {
  const config = opened.img.config.config ?? {};
  return {
    ignore: ignoredPaths(settings),
    include: opts.include,
    includeBin: opts.includeBin,
    exclude: opts.exclude,
    presets: opts.presets,
    keepPackages: opts.keepPackages,
    commands: [commandOf(config, settings), healthcheckArgv(config) ?? []],
    config,
  };
}

/** The closure over what was traced, with the paths repair rounds named; run again after every round. */
export async function closeOver(opened: OpenedImage, policy: ClosurePolicy, records: readonly AccessRecord[], repairs: readonly ImagePath[], harden: boolean, packages?: PackageDatabase): Promise<Closed> {
  const { index } = opened.img;
  const closure = await computeClosure(index, records, repairs.length ? { ...policy, repairs: [...repairs] } : policy, opened.spool, packages);
  const hardened: HardenContent = harden ? { tools: dropUnusedTools(index, closure.selection), setid: setidFiles(index, closure.selection) } : { tools: { removed: [], kept: [] }, setid: [] };
  return { closure, hardened };
}
