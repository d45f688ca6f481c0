import { labelsFor } from '../runtime/run-settings.js';
import { abortable } from '../runtime/scope.js';
import type { Runtime, RunSpec } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { sleep } from '../verify/smoke.js';
import { firstDifference } from './rebuild-check.js';

/** A command run once in a fresh container of `image`, to its end (killed after the timeout); the container goes with it. */
export async function runOnce(
  deps: { runtime: Runtime; scope: Scope },
  spec: Omit<RunSpec, 'labels'>,
  role: string,
  timeoutSeconds = 120,
): Promise<{ exitCode: number; stdout: string; stderr: string; timedOut: boolean }> {
  const { runtime, scope } = deps;
  const c = await runtime.run({ network: 'none', ...spec, labels: labelsFor(scope.id, role) });
  const cleanup = `${role} container ${c.id.slice(0, 12)}`;
  scope.defer(cleanup, () => c.remove());
  try {
    const timer = new AbortController();
    const timedOut = await abortable(
      Promise.race([c.wait().then(() => false), sleep(timeoutSeconds * 1000, AbortSignal.any([scope.signal, timer.signal])).then(() => true, () => false)]),
      scope.signal,
    );
    timer.abort();
    if (timedOut) await c.stop(0);
    const { exitCode } = await c.state();
    const { stdout, stderr } = await c.logs();
    return { exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), timedOut };
  } finally {
    await c.remove();
    scope.release(cleanup);
  }
}

/**
 * One checker command on the whole-file slim image and on the rebuilt one: the whole-file
 * image's output, and the first line that differs (of those `counted` keeps), or why a run failed.
 */
export async function compareOutputs(
  deps: { runtime: Runtime; scope: Scope },
  images: { whole: string; rebuilt: string },
  spec: Omit<RunSpec, 'labels' | 'image'>,
  counted: (output: string) => string = (o) => o,
): Promise<{ failed: string } | { whole: string; diff: string | undefined }> {
  const whole = await runOnce(deps, { ...spec, image: images.whole }, 'rebuild-check');
  const rebuilt = await runOnce(deps, { ...spec, image: images.rebuilt }, 'rebuild-check');
  const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).pop() ?? '';
  if (whole.exitCode !== 0) return { failed: `the checker failed on the whole-file image (exit code ${whole.exitCode}): ${lastLine(whole.stderr)}` };
  if (rebuilt.exitCode !== 0) return { failed: `the checker failed on the rebuilt image (exit code ${rebuilt.exitCode}): ${lastLine(rebuilt.stderr)}` };
  return { whole: whole.stdout, diff: firstDifference(counted(whole.stdout), counted(rebuilt.stdout)) };
}
