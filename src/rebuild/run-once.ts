import { labelsFor } from '../runtime/run-settings.js';
import { abortable } from '../runtime/scope.js';
import type { Runtime, RunSpec } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { sleep } from '../verify/smoke.js';

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
