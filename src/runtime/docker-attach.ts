import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import { SlimError } from '../errors.js';
import { REQUEST, engineMessage, wrap, type DockerEngine } from './docker-requests.js';
import type { AttachIo, AttachedContainer, CreatedContainer } from './runtime.js';

/** After the exit, how long the last output may take to arrive before slim stops waiting for it. */
const FLUSH_MS = 3000;

/**
 * Attach to a created container and start it, as `docker run -i [-t]` does: attached before the
 * start, so nothing it prints is missed. Its stdin ends when `io.stdin` does (a half-close of the
 * attach connection), which is what a shell reading a script from a pipe needs to finish.
 */
export async function startAttached({ docker, calls }: DockerEngine, created: CreatedContainer, io: AttachIo): Promise<AttachedContainer> {
  const c = docker.getContainer(created.id);
  const short = created.id.slice(0, 12);
  let stream: Duplex;
  try {
    stream = await calls.call(`attaching to container ${short}`, (abortSignal) => attach(docker, created.id, abortSignal), REQUEST);
  } catch (err) {
    await created.remove().catch(() => {});
    throw err instanceof SlimError ? err : wrap(`attaching to container ${short}`, err);
  }
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  if (io.tty) stream.pipe(io.stdout, { end: false });
  else docker.modem.demuxStream(stream, io.stdout, io.stderr);
  try {
    await calls.call(`starting container ${short}`, (abortSignal) => c.start({ abortSignal }), REQUEST);
  } catch (err) {
    stream.destroy();
    await created.remove().catch(() => {});
    if (err instanceof SlimError) throw err;
    throw new SlimError(`the container failed to start: ${engineMessage(err)}`, { code: 'START_FAILED', cause: err });
  }
  const resize = async (rows: number, columns: number) => {
    await calls.call(`resizing the terminal of container ${short}`, (abortSignal) => c.resize({ h: rows, w: columns, abortSignal }), REQUEST).catch(() => {});
  };
  if (io.tty) await resize(io.tty.rows, io.tty.columns);
  io.stdin.pipe(stream);
  const exited = (async () => {
    try {
      const r = (await calls.call(`waiting for container ${short}`, (abortSignal) => c.wait({ abortSignal }))) as { StatusCode: number };
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, FLUSH_MS).unref())]);
      return r.StatusCode;
    } finally {
      io.stdin.unpipe(stream);
      stream.destroy();
    }
  })();
  // Awaited by the caller; a rejection meanwhile (Ctrl-C) is reported there, not as unhandled.
  exited.catch(() => {});
  return { id: created.id, exited, resize, remove: () => created.remove() };
}

/**
 * POST /containers/ID/attach, hijacked. Not dockerode's attach: it sends its options as a JSON
 * body too, which Docker ignores and Podman passes on to the container's stdin as if typed (a
 * shell reading a script from a pipe then runs `{"stream":true,…}` first).
 */
function attach(docker: Docker, id: string, abortSignal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${id}/attach?`,
        method: 'POST',
        isStream: true,
        hijack: true,
        abortSignal,
        statusCodes: { 101: true, 200: true, 404: 'no such container', 500: 'server error' },
        // The modem's own escape hatches: these as the query, and an empty body with a length of 0
        // (`file`), so that the request is complete and nothing of it reaches the container.
        options: { _query: { stream: true, stdin: true, stdout: true, stderr: true }, _body: {} },
        file: Buffer.alloc(0),
        headers: { 'Content-Type': 'text/plain' },
      } as Parameters<Docker['modem']['dial']>[0],
      (err, data) => (err ? reject(err) : resolve(data as Duplex)),
    );
  });
}

/** A container by name or ID, or undefined when the engine has none by that reference. */
export async function inspectContainer({ docker, calls }: DockerEngine, ref: string) {
  try {
    const i = await calls.call(`inspecting container ${ref}`, (abortSignal) => docker.getContainer(ref).inspect({ abortSignal }), REQUEST);
    return { id: i.Id, name: i.Name.replace(/^\//, ''), image: i.Config.Image, running: i.State.Running, exitCode: i.State.ExitCode };
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    // Not a container's name (an image reference with a slash or a tag is none): not found either.
    if (status === 404 || status === 400) return undefined;
    if (err instanceof SlimError) throw err;
    throw wrap(`inspecting container ${ref}`, err);
  }
}
