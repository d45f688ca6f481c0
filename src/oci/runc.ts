import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { SlimError } from '../errors.js';

/** An OCI runtime binary (runc, or crun which takes the same commands) with the state root of one slim run. */
export class Runc {
  constructor(readonly binary: string, private readonly root: string) {}

  private args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  /** `runc run` in the foreground: it stays the container's parent, so its exit status is the container's. */
  run(id: string, bundle: string, stdio: { out: number; err: number }, log: string): ChildProcess {
    // Its own process group: a Ctrl-C at the terminal reaches slim, which stops the container itself.
    return spawn(this.binary, ['--log', log, '--log-format', 'json', ...this.args('run', '--bundle', bundle, id)], { stdio: ['ignore', stdio.out, stdio.err], detached: true });
  }

  /** `runc exec` of argv in the container, as `user`, its output captured. */
  exec(id: string, argv: string[], user: string): ChildProcess {
    return spawn(this.binary, this.args('exec', '--user', user, id, ...argv), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const out = await this.call(['state', id]).catch(() => undefined);
    return out ? (JSON.parse(out) as { status: string; pid: number }) : undefined;
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.call(['kill', id, signal]).catch(() => {});
  }

  async delete(id: string): Promise<void> {
    await this.call(['delete', '--force', id]).catch(() => {});
  }

  async version(): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile(this.binary, ['--version'], (err, stdout) => (err ? reject(err) : resolve(stdout.split('\n')[0]!.trim()))),
    );
  }

  private call(args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile(this.binary, this.args(...args), { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout))),
    );
  }
}

/** The error runc logged when it could not start the process, or undefined (the process ran). */
export async function startFailure(log: string): Promise<string | undefined> {
  const text = await readFile(log, 'utf8').catch(() => '');
  for (const line of text.split('\n').reverse()) {
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if (rec.level === 'error' && rec.msg) return rec.msg.replace(/^runc run failed: /, '');
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

/** Docker's exit status for a process that could not be started: 127 not found, 126 not executable. */
export function startFailureStatus(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied|exec format error/.test(msg)) return 126;
  return 125;
}

export function startFailed(image: string, msg: string): SlimError {
  return new SlimError(`the container of ${image} failed to start: ${msg}`, { code: 'START_FAILED' });
}
