import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { labelsFor } from '../runtime/run-settings.js';
import { abortable } from '../runtime/scope.js';
import { SlimError } from '../errors.js';

export type ProbeBackend = 'strace' | 'fanotify' | 'both';
export type ProbeChoice = ProbeBackend | 'auto';

export const PROBE_DIR = '/.slim-probe';
export const CAPS: Record<ProbeBackend, string[]> = { strace: ['SYS_PTRACE'], fanotify: ['SYS_ADMIN'], both: ['SYS_ADMIN', 'SYS_PTRACE'] };

const sensorFlags: Record<ProbeBackend, string[]> = {
  both: ['--fanotify', '/dev/null', '--strace', '/dev/null'],
  fanotify: ['--fanotify', '/dev/null'],
  strace: ['--strace', '/dev/null'],
};

/**
 * `auto`: the best backend the engine lets us use, found by trying: a tiny run of the sensor with
 * each backend's capability (both first, since each covers the other's blind spots).
 */
export async function selectProbe(runtime: Runtime, probeImage: string, choice: ProbeChoice, scope: Scope): Promise<{ backend: ProbeBackend; reason: string }> {
  if (choice !== 'auto') return { backend: choice, reason: 'asked for' };
  // What the engine grants does not change during a run: the probe run, the baseline under the
  // probe and every repair trace ask, and each try costs a container.
  let granted = grantedIn.get(scope);
  if (!granted) {
    granted = tryBackends(runtime, probeImage, scope);
    grantedIn.set(scope, granted);
    granted.catch(() => grantedIn.delete(scope));
  }
  return granted;
}

const grantedIn = new WeakMap<Scope, Promise<{ backend: ProbeBackend; reason: string }>>();

async function tryBackends(runtime: Runtime, probeImage: string, scope: Scope): Promise<{ backend: ProbeBackend; reason: string }> {
  const refused: string[] = [];
  for (const backend of ['both', 'fanotify', 'strace'] as const) {
    const c = await runtime.run({
      image: probeImage,
      entrypoint: [`${PROBE_DIR}/slim-sensor`],
      cmd: [...sensorFlags[backend], '--', `${PROBE_DIR}/lib/ld-linux-x86-64.so.2`, '--version'],
      user: '0:0',
      network: 'none',
      capAdd: CAPS[backend],
      labels: labelsFor(scope.id, 'probe-check'),
    }).catch((err: unknown) => {
      refused.push(`${backend}: ${(err as Error).message}`);
      return undefined;
    });
    if (!c) continue;
    scope.defer(`probe check ${c.id}`, () => c.remove());
    const code = await abortable(c.wait(), scope.signal);
    const why = code === 0 ? '' : (await c.logs()).stderr.toString().trim().split('\n').pop() ?? `exit ${code}`;
    scope.release(`probe check ${c.id}`);
    await c.remove();
    if (code === 0) {
      return { backend, reason: backend === 'both' ? 'the engine grants SYS_ADMIN and SYS_PTRACE' : `the engine refused the other backend (${refused.join('; ')})` };
    }
    refused.push(`${backend}: ${why}`);
  }
  throw new SlimError(`no probe backend works on this engine: ${refused.join('; ')}`, {
    code: 'PROBE_UNAVAILABLE',
    hint: 'the probe needs CAP_SYS_ADMIN (fanotify) or CAP_SYS_PTRACE (strace) for its container; or record a trace elsewhere and pass --trace',
  });
}
