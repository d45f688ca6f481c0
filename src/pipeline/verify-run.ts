import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import type { ContainerConfig } from '../image/types.js';
import { labelsFor, plainRunSpec, type RunSettings } from '../runtime/run-settings.js';
import { exercise, oneLine, type ExerciseResult } from '../verify/exercise.js';
import type { Check, CheckComparison, Verdict } from '../verify/checks.js';
import { runHealthcheck, type HealthResult } from '../verify/healthcheck.js';
import { diffOutputTrees } from '../verify/output-tree.js';
import { lastLinesWithErrors } from '../verify/last-lines.js';
import type { Logger } from '../log.js';
import { withOwnMounts } from './run-mounts.js';

export interface Checked extends ExerciseResult {
  health: { result: HealthResult; detail: string };
}

/** Run `image` plainly (no probe) with the user's settings and copies of its own of their mounts, exercise it, and remove it. */
export async function runChecked(
  deps: { runtime: Runtime; scope: Scope; log?: Logger },
  image: string,
  userSettings: RunSettings,
  check: Check,
  role: string,
  config: ContainerConfig,
  opts: RunLimits & { ports: number[] },
): Promise<Checked> {
  return withOwnMounts(deps, userSettings, role, async (settings) => {
    const { runtime, scope } = deps;
    const c = await runtime.run(plainRunSpec(image, settings, labelsFor(scope.id, role)));
    scope.defer(`${role} container`, () => c.remove());
    let health: Checked['health'] = { result: 'none', detail: 'not run' };
    try {
      const r = await exercise(c, check, {
        image,
        // A service's shutdown is not what verification compares: once its checks are done it is
        // killed, so an app that ignores SIGTERM as PID 1 does not cost the stop timeout on every run.
        stopTimeout: check.kind === 'service' ? 0 : settings.stopTimeout,
        signal: scope.signal,
        ports: opts.ports,
        ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        ...(opts.expected ? { expected: opts.expected } : {}),
        whilePassing: async () => void (health = await runHealthcheck(c, config)),
        ...(deps.log?.status ? { status: deps.log.status } : {}),
      });
      return { ...r, health };
    } finally {
      scope.release(`${role} container`);
      await c.remove();
    }
  });
}

/** How long a run may take, from evidence: see limitsFrom. */
export interface RunLimits {
  /** Until the first check must pass (the readiness wait). */
  timeoutSeconds?: number;
  /** Each check's passing attempt on the original, in seconds, by name. */
  expected?: ReadonlyMap<string, number>;
}

/**
 * The limits of a run on the slim image, from the original's baseline run: a few times the time
 * the original needed to be ready (at least 15 s, at most the check's timeout), and for each check
 * at least twice the time its passing attempt took there, so a long verification suite is never
 * cut short by a readiness guess.
 */
export function limitsFrom(check: Check, original: ExerciseResult): RunLimits {
  if (check.kind !== 'service') return {};
  const expected = new Map(original.checks.flatMap((c) => (c.attemptSeconds !== undefined ? [[c.name, c.attemptSeconds] as const] : [])));
  return {
    ...(original.readySeconds !== undefined ? { timeoutSeconds: Math.min(check.timeoutSeconds, Math.max(15, 4 * original.readySeconds)) } : {}),
    expected,
  };
}

/** Why the original fails its own checks, or undefined when it passes them all: the baseline. */
export function baselineFailure(check: Check, original: Checked): string | undefined {
  if (!original.passed) return original.summary;
  if (check.kind === 'job') {
    // Only --compare-output's paths must exist; a mount or volume may be left as it came.
    const missing = check.compareOutputs.filter((p) => original.outputs.get(p) === undefined);
    if (missing.length) return `the job left nothing at ${missing.join(', ')} (--compare-output)`;
  }
  return undefined;
}

/**
 * The slim image passes when every check that passed on the original passes on it: the same
 * exit code, stdout and output files for a job; every service check and the HEALTHCHECK for a service.
 */
export function compareRuns(check: Check, original: Checked, slim: Checked): Verdict {
  const checks: CheckComparison[] = [];
  if (check.kind === 'job') {
    const sameExit = slim.exitCode === original.exitCode;
    checks.push({ name: 'exit code', original: 'pass', slim: sameExit ? 'pass' : 'fail', detail: sameExit ? `both exited ${slim.exitCode}` : `exited ${slim.exitCode}, the original ${original.exitCode}: ${oneLine(slim.stderr.toString())}` });
    const sameOut = slim.stdout.equals(original.stdout);
    checks.push({ name: 'stdout', original: 'pass', slim: sameOut ? 'pass' : 'fail', detail: sameOut ? `the same ${slim.stdout.length} bytes` : `differs from the original's (${slim.stdout.length} vs ${original.stdout.length} bytes)` });
    for (const [path, tree] of original.outputs) {
      const slimTree = slim.outputs.get(path);
      if (tree === undefined && slimTree === undefined) {
        checks.push({ name: `output ${path}`, original: 'pass', slim: 'pass', detail: 'absent on both' });
        continue;
      }
      const diff = diffOutputTrees(tree ?? new Map(), slimTree ?? new Map());
      checks.push({ name: `output ${path}`, original: 'pass', slim: diff.length ? 'fail' : 'pass', detail: diff.length ? diff.join('; ') : `the same ${tree!.size} entries` });
    }
  } else {
    for (const [i, c] of original.checks.entries()) {
      const s = slim.checks[i]!;
      checks.push({ name: c.name, original: c.passed ? 'pass' : 'fail', slim: s.passed ? 'pass' : s.attempts === 0 ? 'not-run' : 'fail', detail: s.detail });
    }
  }
  if (original.health.result === 'pass') {
    const slimHealth = slim.health.result === 'pass' ? 'pass' : slim.health.result === 'none' ? 'not-run' : 'fail';
    checks.push({ name: 'HEALTHCHECK', original: 'pass', slim: slimHealth, detail: slimHealth === 'not-run' ? 'not run: the checks failed first' : slim.health.detail });
  }
  const failed = checks.find((c) => c.original === 'pass' && c.slim !== 'pass');
  return {
    passed: !failed,
    summary: failed ? `${failed.name}: ${failed.detail}` : check.kind === 'job' ? `job exited ${slim.exitCode} with the same output as the original` : `all ${checks.length} checks passed, as on the original`,
    checks,
    ...(failed ? { output: { slim: lastLinesWithErrors(slim.output, slim.stderr), original: lastLinesWithErrors(original.output, original.stderr) } } : {}),
  };
}
