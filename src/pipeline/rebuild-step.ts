import type { RebuildReport } from '../report/report.js';
import type { Replacement } from '../rebuild/replaced-files.js';
import type { Packed } from './pack-step.js';
import type { BuildDeps, OpenedImage, RebuildTarget } from './build-types.js';
import { notRebuilt, type RebuildInputs, type RebuildOutcome } from './rebuild-common.js';
import { rebuildJvm } from './rebuild-jvm-step.js';
import { rebuildIcu } from './rebuild-icu-step.js';

const STEPS: Record<RebuildTarget, (a: RebuildInputs, deps: BuildDeps) => Promise<RebuildOutcome>> = { jvm: rebuildJvm, icu: rebuildIcu };

/**
 * The --rebuild targets in turn, each on the image the one before left (its files kept), after
 * the whole-file slim image passed. Returns the image that ships and a report per target.
 */
export async function rebuildTargets(
  targets: readonly RebuildTarget[],
  a: Omit<RebuildInputs, 'replaced' | 'pack'> & { pack(files: Pick<OpenedImage, 'img' | 'spool'>, round: number): Promise<Packed> },
  passed: boolean,
  deps: BuildDeps,
): Promise<{ packed: Packed; reports: RebuildReport[] }> {
  if (!passed) return { packed: a.packed, reports: targets.map((t) => notRebuilt(t, 'the whole-file slim image did not pass its checks')) };
  let packed = a.packed;
  const replaced: Replacement[] = [];
  const reports: RebuildReport[] = [];
  for (const [i, target] of targets.entries()) {
    const outcome = await STEPS[target]({ ...a, packed, replaced: [...replaced], pack: (files) => a.pack(files, REBUILD_ROUND + i) }, deps);
    reports.push(outcome.report);
    if (!outcome.packed) continue;
    await packed.discard();
    packed = outcome.packed;
    replaced.push(...(outcome.replacements ?? []));
  }
  return { packed, reports };
}

/** The pack rounds of rebuilt images: their layer files and run tags apart from the repair rounds'. */
const REBUILD_ROUND = 100;
