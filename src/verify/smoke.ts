import { spawn } from 'node:child_process';

export interface SmokeAttempt {
  ok: boolean;
  exitCode: number | null;
  output: string;
  timedOut: boolean;
}

/** Run a host shell command once, killed if it outlives `timeoutMs` or the run is aborted. */
export function runSmokeOnce(cmd: string, env: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<SmokeAttempt> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (b: Buffer) => {
      if (output.length < 16_384) output += b.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    // The command may start children (curl in a pipeline): end the whole process group.
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => killGroup();
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: code === 0 && !timedOut, exitCode: code, output: output.trim(), timedOut });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, exitCode: null, output: err.message, timedOut: false });
    });
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
