import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { labelsFor } from '../runtime/run-settings.js';
import { abortable } from '../runtime/scope.js';
import type { Runtime, RunningContainer } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { smallArchive, type SmallEntry } from '../tar/small-archive.js';

export const WORK_DIR = '/.slim-work';

/** A command in the helper that did not succeed: why, in one line, for the report. */
export class HelperFailed extends Error {}

export interface HelperContainer {
  /** The volume at WORK_DIR, for other containers to mount (read-only) while the helper is open. */
  readonly volume: string;
  /** Run a command as root; its stdout, or HelperFailed naming `what` and the last line it said. */
  exec(argv: string[], what: string, timeoutSeconds?: number): Promise<{ stdout: string; stderr: string }>;
  /** One file out of the container, to a file on this machine; its size. */
  copyFile(path: string, hostFile: string): Promise<number>;
  /** A directory out of the container as a tar (small things: compiled classes). */
  copyTree(path: string): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * A volume of this run holding `content` (a tar), put in through a never-started container of
 * `image` mounting it at `target`; removed through the scope, or by `remove`.
 */
export async function filledVolume(deps: { runtime: Runtime; scope: Scope }, image: string, role: string, target: string, content: Readable): Promise<{ name: string; remove(): Promise<void> }> {
  const { runtime, scope } = deps;
  const labels = labelsFor(scope.id, role);
  const name = `slim-${role}-${scope.id}`;
  await runtime.createVolume(name, labels);
  const cleanup = `volume ${name}`;
  scope.defer(cleanup, () => runtime.removeVolume(name));
  // The engine wants a command for an image that names none, though this one never starts.
  const filler = await runtime.create({ image, entrypoint: ['sleep'], cmd: ['infinity'], volumes: [{ source: name, target, readOnly: false }], labels, network: 'none' });
  try {
    await filler.putArchive(target, content);
  } finally {
    await filler.remove();
  }
  return {
    name,
    async remove() {
      await runtime.removeVolume(name);
      scope.release(cleanup);
    },
  };
}

/**
 * A container of `image` kept running (sleep) to exec build tools in, with `inputs` in a volume
 * of its own at WORK_DIR. No network; labelled and removed through the scope, also on Ctrl-C.
 */
export async function openHelper(deps: { runtime: Runtime; scope: Scope }, image: string, role: string, inputs: readonly SmallEntry[]): Promise<HelperContainer> {
  const { runtime, scope } = deps;
  const labels = labelsFor(scope.id, role);
  const work = await filledVolume(deps, image, role, WORK_DIR, await smallArchive(inputs));
  const volume = work.name;
  const mount = [{ source: volume, target: WORK_DIR, readOnly: false }];
  let c: RunningContainer;
  try {
    c = await runtime.run({ image, entrypoint: ['sleep'], cmd: ['infinity'], user: '0:0', volumes: mount, labels, network: 'none' });
  } catch (err) {
    throw new HelperFailed(`the helper ${image} could not start sleep: ${(err as Error).message.split('\n')[0]}`);
  }
  const cleanup = `${role} container ${c.id.slice(0, 12)}`;
  scope.defer(cleanup, () => c.remove());
  return {
    volume,
    async exec(argv, what, timeoutSeconds = 600) {
      const r = await abortable(c.exec(argv, { user: '0:0', timeoutSeconds }), scope.signal);
      const stdout = r.stdout.toString('utf8');
      const stderr = r.stderr.toString('utf8');
      if (r.exitCode !== 0) {
        const said = (stderr.trim() || stdout.trim()).split('\n').filter(Boolean).pop() ?? '';
        throw new HelperFailed(`${what} failed (exit code ${r.exitCode})${said ? `: ${said.trim()}` : ''}`);
      }
      return { stdout, stderr };
    },
    async copyFile(path, hostFile) {
      const extract = tar.extract();
      const feeding = pipeline(await abortable(c.copyOut(path), scope.signal), extract);
      feeding.catch(() => {});
      let size = -1;
      for await (const item of extract) {
        if (size < 0 && item.header.type === 'file') {
          size = item.header.size ?? 0;
          await pipeline(item as unknown as Readable, createWriteStream(hostFile), { signal: scope.signal });
        } else item.resume();
      }
      await feeding;
      if (size < 0) throw new HelperFailed(`${path} in the helper is not a file`);
      return size;
    },
    async copyTree(path) {
      const chunks: Buffer[] = [];
      for await (const chunk of await abortable(c.copyOut(path), scope.signal)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async close() {
      await c.remove();
      scope.release(cleanup);
      await work.remove();
    },
  };
}
