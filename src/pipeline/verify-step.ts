import type { ContainerConfig } from '../image/types.js';
import type { RunSettings } from '../runtime/run-settings.js';
import { SlimError } from '../errors.js';
import { withMountOutputs, withPorts, type Check, type Verdict } from '../verify/checks.js';
import { jobOutputPaths } from './run-mounts.js';
import { baselineFailure, compareRuns, limitsFrom, runChecked, type Checked, type RunLimits } from './verify-run.js';
import type { BuildDeps } from './build-types.js';

/** What verification runs, on both images alike. */
export interface VerifyPlan {
  check: Check;
  ports: number[];
  settings: RunSettings;
  config: ContainerConfig;
}

/** The original's run: what the slim image is compared with, and the limits its runs get from it. */
export interface Baseline {
  original: Checked;
  limits: RunLimits;
  /** The run was the probed one (--verify-* checks of their own run under the probe). */
  probed: boolean;
}

/** The verification check for this image: its exposed ports reached, and a job's writable mounts and volumes compared as its results. */
export function verifyPlanOf(verifyCheck: Check, settings: RunSettings, config: ContainerConfig): VerifyPlan {
  const { check, ports } = withPorts(verifyCheck, Object.keys(config.ExposedPorts ?? {}), settings.publish);
  return { check: withMountOutputs(check, jobOutputPaths(settings.volumes, Object.keys(config.Volumes ?? {}), settings.tmpfs)), ports, settings, config };
}

/**
 * The baseline is the measurement: it gets the check's whole timeout. The slim image's limits
 * come from it (readiness, and each check's own duration), not from the probe's light check.
 */
export async function baselineOf(plan: VerifyPlan, originalId: string, probed: Checked | undefined, deps: BuildDeps): Promise<Baseline> {
  const original = probed ?? (await runChecked(deps, originalId, plan.settings, plan.check, 'verify-original', plan.config, { ports: plan.ports }));
  const failed = baselineFailure(plan.check, original);
  if (failed) {
    throw new SlimError(`the check fails on the original image without the probe too (${failed}); nothing to compare`, { code: 'BASELINE_FAILED', hint: 'make the check pass on the original image first' });
  }
  return { original, limits: limitsFrom(plan.check, original), probed: probed !== undefined };
}

/** Run the check on a slim image, with the limits the baseline gives. */
export function runSlim(plan: VerifyPlan, baseline: Baseline, slimId: string, deps: BuildDeps): Promise<Checked> {
  return runChecked(deps, slimId, plan.settings, plan.check, 'verify-slim', plan.config, { ports: plan.ports, ...baseline.limits });
}

/** The slim image's run against the baseline, check by check. */
export function judge(plan: VerifyPlan, baseline: Baseline, run: Checked): Verdict {
  return compareRuns(plan.check, baseline.original, run);
}

export async function verifySlim(plan: VerifyPlan, baseline: Baseline, slimId: string, deps: BuildDeps): Promise<Verdict> {
  return judge(plan, baseline, await runSlim(plan, baseline, slimId, deps));
}

/**
 * The first verification. A probe run of the same checks has already shown they pass on the
 * original: it stands in for the baseline, and the original runs without the probe only when the
 * slim image fails against it, since then the probe itself may be what made the difference.
 */
export async function firstVerdict(plan: VerifyPlan, originalId: string, probedRun: Checked | undefined, slimId: string, deps: BuildDeps): Promise<{ baseline: Baseline; verdict: Verdict }> {
  let baseline = await baselineOf(plan, originalId, probedRun, deps);
  const run = await runSlim(plan, baseline, slimId, deps);
  let verdict = judge(plan, baseline, run);
  if (!verdict.passed && baseline.probed) {
    deps.log.info(`the slim image failed against the original's probed run (${verdict.summary}); running the original without the probe to compare with`);
    baseline = await baselineOf(plan, originalId, undefined, deps);
    verdict = judge(plan, baseline, run);
  }
  return { baseline, verdict };
}
