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
 * A container of `image` kept running (sleep) to exec build tools in, with `inputs` in a volume
 * of its own at WORK_DIR. No network; labelled and removed through the scope, also on Ctrl-C.
 */
export async function openHelper(deps: { runtime: Runtime; scope: Scope }, image: string, role: string, inputs: readonly SmallEntry[]): Promise<HelperContainer> {
  const { runtime, scope } = deps;
  const labels = labelsFor(scope.id, role);
  const volume = `slim-${role}-${scope.id}`;
  await runtime.createVolume(volume, labels);
  const volumeCleanup = `volume ${volume}`;
  scope.defer(volumeCleanup, () => runtime.removeVolume(volume));
  const mount = [{ source: volume, target: WORK_DIR, readOnly: false }];
  // Never started; the engine still wants a command for an image that names none.
  const filler = await runtime.create({ image, entrypoint: ['sleep'], cmd: ['infinity'], volumes: mount, labels, network: 'none' });
  try {
    await filler.putArchive(WORK_DIR, await smallArchive(inputs));
  } finally {
    await filler.remove();
  }
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
      await runtime.removeVolume(volume);
      scope.release(volumeCleanup);
    },
  };
}
