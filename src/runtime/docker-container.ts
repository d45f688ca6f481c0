import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { SlimError } from '../errors.js';
import type { EngineCalls } from './engine-call.js';
import { CLEANUP, REQUEST, REQUEST_MS, statusOf, wrap } from './docker-requests.js';
import { demux, destroyOnAbort } from './docker-streams.js';
import type { Flavour } from './engine-flavour.js';
import { dockerArchiveNames, intoMount } from './podman-archive.js';
import type { ContainerNetwork, ContainerState, RunningContainer } from './runtime.js';

export class DockerContainer implements RunningContainer {
  constructor(
    private readonly c: Docker.Container,
    private readonly calls: EngineCalls,
    private readonly flavour: Flavour = 'docker',
    /** Where its named volumes are mounted (Podman's archive API does not follow them). */
    private readonly mounts: readonly string[] = [],
  ) {}

  get id(): string {
    return this.c.id;
  }

  async state(): Promise<ContainerState> {
    const s = (await this.calls.call(`inspecting container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.inspect({ abortSignal }), REQUEST)).State;
    return { running: s.Running, exitCode: s.ExitCode, oomKilled: s.OOMKilled, ...(s.Error ? { error: s.Error } : {}) };
  }

  async wait(): Promise<number> {
    // No timeout: the container runs as long as it runs; the abort ends the wait.
    const r = (await this.calls.call(`waiting for container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.wait({ abortSignal }))) as { StatusCode: number };
    return r.StatusCode;
  }

  async stop(timeoutSeconds: number): Promise<void> {
    try {
      await this.calls.call(`stopping container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.stop({ t: timeoutSeconds, abortSignal }), { timeoutMs: timeoutSeconds * 1000 + REQUEST_MS });
    } catch (err) {
      if (err instanceof SlimError) throw err;
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw wrap(`stopping container ${this.id.slice(0, 12)}`, err);
    }
  }

  async logs(): Promise<{ stdout: Buffer; stderr: Buffer; output: Buffer }> {
    const raw = (await this.calls.call(`reading the logs of container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.logs({ stdout: true, stderr: true, follow: false, abortSignal }), { timeoutMs: 2 * REQUEST_MS })) as unknown as Buffer;
    return demux(raw);
  }

  async exec(cmd: string[], opts: { user?: string; timeoutSeconds?: number } = {}): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    try {
      const what = `running ${cmd[0]} in container ${this.id.slice(0, 12)}`;
      const e = await this.calls.call(what, (abortSignal) => this.c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(opts.user ? { User: opts.user } : {}), abortSignal }), REQUEST);
      const stream = (await this.calls.call(what, (abortSignal) => e.start({ hijack: true, stdin: false, abortSignal }), REQUEST)) as unknown as Readable;
      const detach = this.calls.onAbort(() => stream.destroy());
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => stream.destroy(), (opts.timeoutSeconds ?? 60) * 1000);
      try {
        for await (const c of stream) chunks.push(c as Buffer);
      } catch {
        /* destroyed by the timeout: reported through the exit code below */
      } finally {
        clearTimeout(timer);
        detach();
      }
      this.calls.throwIfAborted();
      const info = await this.calls.call(what, (abortSignal) => e.inspect({ abortSignal }), REQUEST);
      const { stdout, stderr } = demux(Buffer.concat(chunks));
      return { exitCode: info.Running ? -1 : info.ExitCode ?? -1, stdout, stderr };
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`running ${cmd[0]} in container ${this.id.slice(0, 12)}`, err);
    }
  }

  async network(): Promise<ContainerNetwork> {
    const i = await this.calls.call(`inspecting container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.inspect({ abortSignal }), REQUEST);
    const ns = i.NetworkSettings;
    const ip = (ns as { IPAddress?: string }).IPAddress || Object.values(ns.Networks ?? {}).map((n) => n.IPAddress).find(Boolean);
    const ports: ContainerNetwork['ports'] = {};
    for (const [port, bindings] of Object.entries(ns.Ports ?? {})) ports[port] = (bindings ?? []).map((b) => ({ hostIp: b.HostIp, hostPort: b.HostPort }));
    return { mode: i.HostConfig.NetworkMode ?? 'default', ...(ip ? { ip } : {}), ports };
  }

  async copyOut(path: string): Promise<Readable> {
    try {
      const raw = (await this.calls.call(`copying ${path} out of container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.getArchive({ path, abortSignal }), REQUEST)) as unknown as Readable;
      // Podman also gives every entry the container user's owner: that it cannot be asked not to.
      const s = this.flavour === 'podman' ? dockerArchiveNames(raw, path) : raw;
      destroyOnAbort(s, undefined, this.calls);
      return s;
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`copying ${path} out of container ${this.id.slice(0, 12)}`, err);
    }
  }

  async putArchive(path: string, archive: Readable): Promise<void> {
    try {
      const below = (m: string) => m === path || m.startsWith(path.endsWith('/') ? path : `${path}/`);
      const into = this.flavour === 'podman' && this.mounts.some(below) ? intoMount(archive, path, this.mounts) : { target: Promise.resolve(path), archive };
      const at = await into.target;
      // Without copyUIDGID the engine keeps the archive's owners (with it, it would chown to the container's user).
      await this.calls.call(`copying into ${path} of container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.putArchive(into.archive, { path: at, abortSignal }));
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`copying into ${path} of container ${this.id.slice(0, 12)}`, err);
    }
  }

  remove(): Promise<void> {
    return removeContainer(this.c, this.calls);
  }
}

export async function removeContainer(c: Docker.Container, calls: EngineCalls): Promise<void> {
  try {
    await calls.call(`removing container ${c.id.slice(0, 12)}`, (abortSignal) => c.remove({ force: true, v: true, abortSignal }), CLEANUP);
  } catch (err) {
    if (err instanceof SlimError) throw err;
    const s = statusOf(err);
    if (s !== 404 && s !== 409) throw wrap(`removing container ${c.id.slice(0, 12)}`, err);
  }
}
