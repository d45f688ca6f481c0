import type { RebuildReport } from '../report/report.js';
import type { RebuildCheck } from '../rebuild/rebuild-check.js';
import { withReplacedFiles, type Replacement } from '../rebuild/replaced-files.js';
import type { PackageDatabase } from '../packages/types.js';
import type { ClosureResult } from '../closure/closure.js';
import type { Baseline, VerifyPlan } from './verify-step.js';
import type { Packed } from './pack-step.js';
import type { BuildDeps, OpenedImage } from './build-types.js';
import { runProbe, type ProbeResult } from '../probe/run-probe.js';
import { HelperFailed } from '../rebuild/helper-container.js';
import { withOwnMounts } from './run-mounts.js';
import { identityOf } from './identity.js';

/** What every --rebuild target gets: the image, the whole-file slim image that passed, the evidence and the checks. */
export interface RebuildInputs {
  opened: OpenedImage;
  closure: ClosureResult;
  /** The verified whole-file slim image. */
  packed: Packed;
  packages: PackageDatabase;
  /** Every traced run's class-load logs (probe, probed baseline). */
  classLogs: readonly string[];
  plan: VerifyPlan;
  baseline: Baseline;
  /** The closure's ignored paths (/proc, /sys, …): not missing when a run opens them. */
  ignore: readonly string[];
  /** Files an earlier --rebuild target replaced: each rebuilt image keeps them. */
  replaced: readonly Replacement[];
  /** Pack and load the slim image from these files instead of the image's. */
  pack(files: Pick<OpenedImage, 'img' | 'spool'>): Promise<Packed>;
}

/** A target's report, and when it was applied, the image that holds its files and what it replaced. */
export interface RebuildOutcome {
  report: RebuildReport;
  packed?: Packed;
  replacements?: Replacement[];
}

/** Not applied: the slim image keeps the original files, and says why. */
export function keepOriginal(target: RebuildReport['target'], reason: string, started: number, { log }: BuildDeps, rest: Partial<RebuildReport> = {}): RebuildOutcome {
  log.warn(`--rebuild ${target}: keeping the original files: ${reason}`);
  return { report: { ...notRebuilt(target, reason), ...rest, seconds: (Date.now() - started) / 1000 } };
}

/** A rebuild that failed on its way: Ctrl-C goes on; anything else keeps the original files, with the message as the reason. */
export function keepOnError(target: RebuildReport['target'], err: unknown, started: number, deps: BuildDeps): RebuildOutcome {
  deps.scope.throwIfAborted();
  return keepOriginal(target, err instanceof HelperFailed ? err.message : `${(err as Error).message.split('\n')[0]}`, started, deps);
}

/** The verification checks under the probe on `image` (the original, or a rebuilt image), with what a target's evidence needs added to the run. */
export async function traceChecks(a: RebuildInputs, image: string, round: string, deps: BuildDeps, evidence: Pick<Parameters<typeof runProbe>[0], 'jvmClassLog' | 'extra'>): Promise<ProbeResult> {
  const { runtime, scope, log } = deps;
  const identity = await identityOf(a.opened, a.plan.settings);
  return withOwnMounts(deps, a.plan.settings, 'probe', (own) =>
    runProbe({ runtime, scope, log, image, config: a.opened.img.config.config ?? {}, settings: own, identity, backend: 'auto', check: a.plan.check, ports: a.plan.ports, round, ...evidence, ...a.baseline.limits }),
  );
}

/** The slim image packed and loaded with these files replaced, and those of the targets before. */
export function packReplaced(a: RebuildInputs, mine: readonly Replacement[]): Promise<Packed> {
  const replaced = withReplacedFiles(a.opened.img.index, a.opened.spool, [...a.replaced, ...mine]);
  return a.pack({ img: { ...a.opened.img, index: replaced.index }, spool: replaced.content });
}

/** Applied when every check passed; else the rebuilt image is discarded and the originals kept, with the failed checks as the reason. */
export async function packedOutcome(target: RebuildReport['target'], r: { files: RebuildReport['files']; detail: RebuildReport['detail']; checks: RebuildCheck[]; replacements: Replacement[]; packed: Packed }, started: number, deps: BuildDeps): Promise<RebuildOutcome> {
  const failed = r.checks.filter((c) => !c.passed);
  if (failed.length) {
    await r.packed.discard();
    return keepOriginal(target, failed.map((c) => `${c.name}: ${c.detail}`).join('; '), started, deps, { files: r.files, detail: r.detail, checks: r.checks });
  }
  const removedBytes = r.files.reduce((n, f) => n + f.before - f.after, 0);
  return { report: { target, applied: true, files: r.files, removedBytes, detail: r.detail, checks: r.checks, seconds: (Date.now() - started) / 1000 }, packed: r.packed, replacements: r.replacements };
}

/** A target that was not tried, with why. */
export function notRebuilt(target: RebuildReport['target'], reason: string): RebuildReport {
  return { target, applied: false, reason, files: [], removedBytes: 0, detail: {}, checks: [], seconds: 0 };
}
