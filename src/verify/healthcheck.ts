import type { ContainerConfig } from '../image/types.js';
import type { RunningContainer } from '../runtime/runtime.js';

/** The image's own HEALTHCHECK as an argv, as the engine runs it (`CMD-SHELL` through /bin/sh -c). */
export function healthcheckArgv(config: ContainerConfig): string[] | undefined {
  const test = config.Healthcheck?.Test;
  if (!test || test.length === 0) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest[0]) return ['/bin/sh', '-c', rest[0]];
  return undefined; // NONE, or inherited
}

export type HealthResult = 'pass' | 'fail' | 'none';

/**
 * Run the HEALTHCHECK once, now. The engine would first run it only after its interval (30 s by
 * default), long after a probe ends: files only the health check uses would be missed, and the
 * slim image would turn unhealthy in production.
 */
export async function runHealthcheck(c: RunningContainer, config: ContainerConfig, argv?: string[], user?: string): Promise<{ result: HealthResult; detail: string }> {
  const cmd = argv ?? healthcheckArgv(config);
  if (!cmd) return { result: 'none', detail: 'the image has no HEALTHCHECK' };
  const timeout = Math.max(5, Math.ceil((config.Healthcheck?.Timeout ?? 30e9) / 1e9));
  const r = await c.exec(cmd, { timeoutSeconds: timeout, ...(user ? { user } : {}) });
  const detail = `HEALTHCHECK exited ${r.exitCode}${r.exitCode !== 0 ? `: ${(r.stderr.toString() || r.stdout.toString()).trim().split('\n').pop() ?? ''}` : ''}`;
  return { result: r.exitCode === 0 ? 'pass' : 'fail', detail };
}
