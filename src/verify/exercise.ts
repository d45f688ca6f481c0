import type { RunningContainer } from '../runtime/runtime.js';
import { abortable } from '../pipeline/scope.js';
import { runSmokeOnce, sleep, type SmokeAttempt } from './smoke.js';

/** How a container is exercised: a service gets a smoke test until it passes; a job runs to its end. */
export type Check =
  | { kind: 'smoke'; command: string; timeoutSeconds: number }
  | { kind: 'job' };

export interface ExerciseResult {
  passed: boolean;
  /** One line saying what happened, for people. */
  summary: string;
  attempts: number;
  lastSmoke?: SmokeAttempt;
  /** Set when the container ended by itself. */
  exitCode?: number;
  stdout: Buffer;
  stderr: Buffer;
  seconds: number;
}

/**
 * Exercise a started container, then stop it. A smoke test is retried until it passes or its
 * timeout runs out: that is the readiness wait, with nothing guessed. A container that ends
 * before the test passed is a failure unless it ended well and the test then passes.
 */
export async function exercise(c: RunningContainer, check: Check, opts: { image: string; stopTimeout: number; signal: AbortSignal; env?: Record<string, string>; whilePassing?: () => Promise<void> }): Promise<ExerciseResult> {
  const started = Date.now();
  const done = async (r: Omit<ExerciseResult, 'stdout' | 'stderr' | 'seconds'>, stop: boolean): Promise<ExerciseResult> => {
    if (stop) await c.stop(opts.stopTimeout);
    const logs = await c.logs();
    return { ...r, ...logs, seconds: (Date.now() - started) / 1000 };
  };

  if (check.kind === 'job') {
    const exitCode = await abortable(c.wait(), opts.signal);
    return done({ passed: exitCode === 0, exitCode, attempts: 1, summary: exitCode === 0 ? 'job exited 0' : `job exited with code ${exitCode}` }, false);
  }

  const env = { SLIM_CONTAINER: c.id, SLIM_IMAGE: opts.image, ...opts.env };
  const deadline = started + check.timeoutSeconds * 1000;
  let attempts = 0;
  let delay = 200;
  let last: SmokeAttempt | undefined;
  for (;;) {
    opts.signal.throwIfAborted();
    const before = await c.state();
    attempts++;
    last = await runSmokeOnce(check.command, env, Math.max(1000, Math.min(30_000, deadline - Date.now())), opts.signal);
    opts.signal.throwIfAborted();
    if (last.ok) {
      // Extra checks that need the service up (e.g. the image's HEALTHCHECK) run before it stops.
      if (before.running) await opts.whilePassing?.();
      return done({ passed: true, attempts, lastSmoke: last, summary: `smoke test passed (attempt ${attempts})` }, true);
    }
    if (!before.running) {
      // It had already ended when this attempt ran: that attempt was the last chance.
      const summary = before.exitCode === 0
        ? `the container exited (code 0) and the smoke test failed: ${oneLine(last.output)}`
        : `the container exited with code ${before.exitCode} before the smoke test passed`;
      return done({ passed: false, attempts, lastSmoke: last, exitCode: before.exitCode, summary }, false);
    }
    if (Date.now() + delay > deadline) {
      return done({ passed: false, attempts, lastSmoke: last, summary: `smoke test did not pass within ${check.timeoutSeconds}s (${attempts} attempts): ${oneLine(last.output) || `exit ${last.exitCode}`}` }, true);
    }
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, 2000);
  }
}

export function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max) + '…' : t;
}
