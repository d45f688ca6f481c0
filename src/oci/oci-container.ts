import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContainerNetwork, ContainerState, CreatedContainer, RunningContainer } from '../runtime/runtime.js';
import type { Runc } from './runc.js';

/** What the runtime keeps of one container: enough to run it, read it and remove it. */
export interface ContainerOps {
  readonly id: string;
  readonly network: 'host' | 'none';
  readonly logs: { out: string; err: string };
  stopSignal: string;
  /** uid:gid for `runc exec --user`, from the image's passwd and group. */
  execUser(user: string | undefined): string;
  copyOut(path: string): Promise<Readable>;
  putArchive(path: string, archive: Readable): Promise<void>;
  remove(): Promise<void>;
}

/** A container made by the daemonless runtime; running once `started` is given its runc process. */
export class OciContainer implements CreatedContainer, RunningContainer {
  private exit: Promise<number> | undefined;
  private exitCode: number | undefined;
  private proc: ChildProcess | undefined;

  constructor(private readonly ops: ContainerOps, private readonly runc: Runc) {}

  get id(): string {
    return this.ops.id;
  }

  /** Takes the `runc run` process whose exit is the container's. */
  started(proc: ChildProcess, exit: Promise<number>): void {
    this.proc = proc;
    this.exit = exit.then((code) => (this.exitCode = code));
  }

  async state(): Promise<ContainerState> {
    return { running: this.exit !== undefined && this.exitCode === undefined, exitCode: this.exitCode ?? 0, oomKilled: false };
  }

  async wait(): Promise<number> {
    return this.exit ?? 0;
  }

  async stop(timeoutSeconds: number): Promise<void> {
    if (!this.exit || this.exitCode !== undefined) return;
    await this.runc.kill(this.id, this.ops.stopSignal);
    const stopped = await Promise.race([this.exit.then(() => true), sleep(timeoutSeconds * 1000).then(() => false)]);
    if (stopped) return;
    await this.runc.kill(this.id, 'KILL');
    await this.exit;
  }

  async logs(): Promise<{ stdout: Buffer; stderr: Buffer }> {
    const read = (p: string) => readFile(p).catch(() => Buffer.alloc(0));
    return { stdout: await read(this.ops.logs.out), stderr: await read(this.ops.logs.err) };
  }

  async exec(cmd: string[], opts: { user?: string; timeoutSeconds?: number } = {}): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    const child = this.runc.exec(this.id, cmd, this.ops.execUser(opts.user));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, (opts.timeoutSeconds ?? 60) * 1000);
    const code = await new Promise<number>((resolve) => child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : -1))));
    clearTimeout(timer);
    // A command cut off by the timeout has no exit status yet, as a docker exec still running has none.
    return { exitCode: timedOut ? -1 : code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  async network(): Promise<ContainerNetwork> {
    return { mode: this.ops.network, ports: {} };
  }

  copyOut(path: string): Promise<Readable> {
    return this.ops.copyOut(path);
  }

  putArchive(path: string, archive: Readable): Promise<void> {
    return this.ops.putArchive(path, archive);
  }

  async remove(): Promise<void> {
    if (this.exit && this.exitCode === undefined) {
      await this.runc.kill(this.id, 'KILL');
      // runc run ends when its container does; if runc itself hangs, it is killed too.
      const ended = await Promise.race([this.exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!ended) this.proc?.kill('SIGKILL');
    }
    await this.ops.remove();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
