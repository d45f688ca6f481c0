import type { ClosurePolicy } from '../closure/closure.js';
import type { ImagePath } from '../rootfs/entry.js';
import type { AccessRecord } from '../trace/record.js';
import type { PackageDatabase } from '../packages/types.js';
import type { Verdict } from '../verify/checks.js';
import type { BuildReport } from '../report/report.js';
import { failingOnly, findRepairs } from './repair.js';
import { closeOver, type Closed } from './closure-step.js';
import { verifySlim, type Baseline, type VerifyPlan } from './verify-step.js';
import type { Packed } from './pack-step.js';
import type { PhaseClock } from './phase-clock.js';
import type { BuildDeps, OpenedImage } from './build-types.js';

export type RepairReport = BuildReport['repair'];

/** Where the build stands after a verification: the image, what it holds and why, and how it fared. */
export interface Attempt {
  records: AccessRecord[];
  closed: Closed;
  packed: Packed;
  verdict: Verdict;
}

export interface RepairInputs {
  opened: OpenedImage;
  plan: VerifyPlan;
  baseline: Baseline;
  policy: ClosurePolicy;
  packages: PackageDatabase;
  harden: boolean;
  rounds: number;
  /** Pack and load the image of a closure; round numbers name the run's tags. */
  pack(closed: Closed, round: number): Promise<Packed>;
  clock: PhaseClock;
}

/**
 * Self-repair: trace the failing slim image and the original under the failing checks, add all the
 * slim image lacks with its closure, and try again, up to `rounds` times.
 */
export async function repairLoop(first: Attempt, a: RepairInputs, deps: BuildDeps): Promise<Attempt & { repair: RepairReport }> {
  const { log } = deps;
  let { records, closed, packed, verdict } = first;
  const repair: RepairReport = { result: verdict.passed ? 'not-needed' : a.rounds === 0 ? 'off' : 'failed', rounds: 0, added: [] };
  while (!verdict.passed && repair.rounds < a.rounds) {
    const round = ++repair.rounds;
    const failing = verdict.checks.filter((c) => c.original === 'pass' && c.slim === 'fail').map((c) => c.name);
    log.warn(`the slim image failed verification (${verdict.summary}); repair round ${round} of ${a.rounds}`);
    const evidence = await a.clock.time('repair', () =>
      findRepairs({ opened: a.opened, slimId: packed.slimId, kept: closed.closure.selection, ignore: a.policy.ignore, check: failingOnly(a.plan.check, failing), ports: a.plan.ports, round, limits: a.baseline.limits, settings: a.plan.settings }, deps),
    );
    const before = closed.closure.selection;
    records = [...records, ...evidence.records];
    // A path added before and still missing is kept out on purpose (--exclude): adding it again would loop.
    const named = evidence.found.filter((f) => !repair.added.some((x) => x.path === f.path));
    const repairs: ImagePath[] = [...repair.added.map((x) => x.path), ...named.map((f) => f.path)];
    closed = await closeOver(a.opened, a.policy, records, repairs, a.harden, a.packages);
    const selection = closed.closure.selection;
    const grew = selection.paths().filter((p) => !before.has(p));
    if (grew.length === 0) {
      repair.note = evidence.found.length
        ? `round ${round}: what the slim image lacks is kept out by --exclude: ${evidence.found.slice(0, 3).map((f) => f.path).join(', ')}`
        : `round ${round}: neither the slim image's failed lookups nor the original's trace under the failing checks name a file the slim image lacks`;
      log.warn(repair.note);
      break;
    }
    // Each path a run named, and what else the original touched under the failing checks.
    const fromTrace = grew.filter((p) => !named.some((f) => f.path === p) && selection.why(p)[0]?.why !== 'parent');
    const added = [...named, ...fromTrace.map((path) => ({ path, seenIn: 'original' as const }))];
    log.info(`repair round ${round}: adding ${grew.length} entr${grew.length === 1 ? 'y' : 'ies'} (${added.length} named): ${added.slice(0, 5).map((x) => x.path).join(', ')}${added.length > 5 ? ', …' : ''}`);
    repair.added.push(...added.map((x) => ({ path: x.path, round, neededBy: failing, seenIn: x.seenIn })));
    await packed.discard();
    const next = closed;
    packed = await a.clock.time('pack', () => a.pack(next, round));
    const id = packed.slimId;
    verdict = await a.clock.time('verify', () => verifySlim(a.plan, a.baseline, id, deps));
    if (verdict.passed) repair.result = 'repaired';
  }
  const note = noteOf(repair);
  if (note) repair.note = note;
  return { records, closed, packed, verdict, repair };
}

function noteOf(repair: RepairReport): string | undefined {
  const rounds = `${repair.rounds} round${repair.rounds === 1 ? '' : 's'}`;
  if (repair.result === 'failed' && !repair.note && repair.rounds > 0) return `still failing after ${rounds}`;
  if (repair.result !== 'repaired') return repair.note;
  const sources = [...new Set(repair.added.map((x) => x.seenIn))].map((w) => (w === 'slim image' ? "the slim image's failed lookups" : "the original's trace under the failing checks"));
  return `${repair.added.length} path${repair.added.length === 1 ? '' : 's'} added in ${rounds}: ${sources.join(' and ')}`;
}
