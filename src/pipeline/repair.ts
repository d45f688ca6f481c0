import type { Check } from '../verify/checks.js';
import { describeCheck } from '../verify/checks.js';
import type { ImagePath } from '../rootfs/entry.js';
import type { AccessRecord } from '../trace/record.js';
import type { Selection } from '../closure/selection.js';
import { missingListedEntries, missingPaths } from '../closure/repair.js';
import { runProbe, type ProbeBackend } from '../probe/run-probe.js';
import { selectProbe, type ProbeChoice } from '../probe/select-probe.js';
import { ensureProbeImage } from '../probe/probe-image.js';
import { withOwnMounts } from './run-mounts.js';
import { identityOf } from './identity.js';
import type { RunSettings } from '../runtime/run-settings.js';
import type { RunLimits } from './verify-run.js';
import type { BuildDeps, OpenedImage } from './build-types.js';

export type SeenIn = 'slim image' | 'original';

/** What one repair round found the slim image lacks. */
export interface RepairEvidence {
  /** Paths the slim image lacks that a run named, each with the run that named it. */
  found: { path: ImagePath; seenIn: SeenIn }[];
  /** The original's trace under the failing checks: the closure takes everything it touched, listings included. */
  records: AccessRecord[];
}

export interface RepairInputs {
  opened: OpenedImage;
  slimId: string;
  kept: Selection;
  ignore: string[];
  /** The verification check, with only the checks that failed on the slim image. */
  check: Check;
  ports: number[];
  round: number;
  /** The slim image's run limits (from the original's baseline run). */
  limits: RunLimits;
  settings: RunSettings;
}

/**
 * All the evidence one round can collect, so that one round is enough: the slim image's own
 * failed lookups, traced with strace whenever the engine grants it (whatever --probe chose), and
 * the original traced under the failing checks with the richest backend granted, whose every
 * access goes into the closure. Programs that decide by names they listed name no file at all:
 * when neither run names one, the entries of the directories they listed that the slim image lacks.
 */
export async function findRepairs(a: RepairInputs, deps: BuildDeps): Promise<RepairEvidence> {
  const index = a.opened.img.index;
  const granted = await grantedBackend(deps);
  const slimSeen = granted === 'fanotify' ? [] : await traceRun(a, a.slimId, 'slim image', 'strace', `r${a.round}`, a.limits, deps);
  const origSeen = await traceRun(a, a.opened.inspect.id, 'original', granted, `r${a.round}o`, {}, deps);
  const found = new Map<ImagePath, SeenIn>();
  for (const p of missingPaths(index, slimSeen, a.kept, a.ignore)) found.set(p, 'slim image');
  for (const p of missingPaths(index, origSeen, a.kept, a.ignore)) if (!found.has(p)) found.set(p, 'original');
  if (found.size === 0) {
    for (const p of missingListedEntries(index, slimSeen, a.kept, a.ignore)) found.set(p, 'slim image');
    for (const p of missingListedEntries(index, origSeen, a.kept, a.ignore)) if (!found.has(p)) found.set(p, 'original');
  }
  return { found: [...found].map(([path, seenIn]) => ({ path, seenIn })), records: origSeen };
}

/** The check narrowed to those that failed on the slim image; all of it when only the HEALTHCHECK failed. */
export function failingOnly(check: Check, failing: readonly string[]): Check {
  if (check.kind !== 'service') return check;
  const checks = check.checks.filter((c) => failing.includes(c.name));
  return checks.length ? { ...check, checks } : check;
}

/** The richest backend the engine grants: repair traces use it whatever the probe run used. */
async function grantedBackend({ runtime, log, scope }: BuildDeps): Promise<ProbeBackend> {
  const probeImage = await ensureProbeImage(runtime, log, scope.signal);
  return (await selectProbe(runtime, probeImage, 'auto', scope)).backend;
}

async function traceRun(a: RepairInputs, image: string, what: SeenIn, backend: ProbeChoice, round: string, limits: RunLimits, deps: BuildDeps): Promise<AccessRecord[]> {
  const { runtime, scope, log } = deps;
  log.step(`repair: tracing the ${what} (${backend}) under ${describeCheck(a.check)}`);
  const identity = await identityOf(a.opened, a.settings);
  const probe = await withOwnMounts(deps, a.settings, 'probe', (settings) =>
    runProbe({ runtime, scope, log, image, config: a.opened.img.config.config ?? {}, settings, identity, check: a.check, ports: a.ports, round, backend, index: a.opened.img.index, ...limits }),
  );
  log.info(`${what}: ${probe.run.summary}; ${probe.records.length} trace records`);
  return probe.records;
}
