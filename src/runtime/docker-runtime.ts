import Docker from 'dockerode';
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContainerNetwork } from './runtime.js';
import type { ContainerState, CreatedContainer, ImageInspect, RunningContainer, RunSpec, Runtime } from './runtime.js';
import { parsePublish } from './publish.js';
import { InternalError, SlimError, errorMessage } from '../errors.js';
import { EngineCalls, engineTimeouts, type EngineCallOptions } from './engine-call.js';

const { requestMs: REQUEST_MS, pingMs: PING_MS } = engineTimeouts();
/** Removals run in cleanup, after an abort: bounded, never aborted, and given longer (big volumes). */
const CLEANUP: EngineCallOptions = { timeoutMs: 2 * REQUEST_MS, abortable: false };
const REQUEST: EngineCallOptions = { timeoutMs: REQUEST_MS };

/**
 * The Docker Engine API through dockerode; dockerode's types stay in this file. Every request is
 * bounded (its answer must start in time) and aborted by `signal` (the run's), except removals.
 */
export class DockerRuntime implements Runtime {
  private readonly docker: Docker;
  private readonly calls: EngineCalls;
  readonly endpoint: string;

  constructor(opts: { socketPath?: string; signal?: AbortSignal } = {}) {
    this.docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
    this.endpoint = opts.socketPath ? `unix://${opts.socketPath}` : process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    this.calls = new EngineCalls(this.endpoint, !opts.socketPath && process.env.DOCKER_HOST ? 'DOCKER_HOST' : undefined, opts.signal);
  }

  async ping() {
    try {
      const v = await this.calls.call('a ping', (abortSignal) => this.dial<Docker.DockerVersion>('/version', 'GET', { 200: true, 500: 'server error' }, abortSignal), { timeoutMs: PING_MS });
      return { endpoint: this.endpoint, version: v.Version, apiVersion: v.ApiVersion };
    } catch (err) {
      if (err instanceof SlimError && err.code === 'ENGINE_TIMEOUT') {
        throw new SlimError(`cannot reach the container engine at ${this.calls.where}: no answer within ${PING_MS / 1000} s`, { code: 'ENGINE_UNREACHABLE', ...(err.hint ? { hint: err.hint } : {}) });
      }
      if (err instanceof SlimError) throw err;
      throw new SlimError(`cannot reach the container engine at ${this.calls.where}: ${errorMessage(err)}`, {
        code: 'ENGINE_UNREACHABLE',
        hint: 'start dockerd (or podman system service) or point DOCKER_HOST at a running engine',
        cause: err,
      });
    }
  }

  /** A request dockerode gives no abort signal to, made through its modem. */
  private dial<T>(path: string, method: 'GET' | 'POST', statusCodes: Record<number, true | string>, abortSignal: AbortSignal, isStream = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.docker.modem.dial({ path, method, statusCodes, isStream, abortSignal, options: {} } as Parameters<Docker['modem']['dial']>[0], (err, data) => (err ? reject(err) : resolve(data as T)));
    });
  }

  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    try {
      const i = await this.calls.call(`inspecting image ${ref}`, (s) => this.dial<Docker.ImageInspectInfo>(`/images/${ref}/json`, 'GET', { 200: true, 404: 'no such image', 500: 'server error' }, s), REQUEST);
      return {
        id: i.Id,
        repoTags: i.RepoTags ?? [],
        size: i.Size,
        os: i.Os,
        architecture: i.Architecture,
        config: (i.Config ?? {}) as ImageInspect['config'],
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrap(`inspecting image ${ref}`, err);
    }
  }

  async saveImage(ref: string, signal: AbortSignal): Promise<Readable> {
    try {
      // No timeout: the engine answers `docker save` only once it has exported the image; the abort ends it.
      const s = await this.calls.call(`saving image ${ref}`, (abortSignal) => this.dial<Readable>(`/images/${ref}/get`, 'GET', { 200: true, 500: 'server error' }, abortSignal, true), { signal });
      destroyOnAbort(s, signal, this.calls);
      return s;
    } catch (err) {
      throw wrap(`saving image ${ref}`, err);
    }
  }

  async loadImage(archive: Readable, signal: AbortSignal): Promise<string> {
    let res: NodeJS.ReadableStream;
    try {
      // An abort cuts the upload (the engine then loads nothing); once the archive is all sent the
      // engine's answer is awaited, so that an image it loaded is known and removed by the caller.
      const cut = () => void (archive.readableEnded || archive.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted')));
      signal.addEventListener('abort', cut, { once: true });
      const detach = this.calls.onAbort(cut);
      try {
        res = await this.calls.call('loading the image', () => this.docker.loadImage(archive, { quiet: true }), { abortable: false });
      } finally {
        signal.removeEventListener('abort', cut);
        detach();
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.calls.throwIfAborted();
      if (err instanceof SlimError) throw err;
      throw wrap('loading the image into the engine', err);
    }
    const messages = await readJsonMessages(res);
    const failure = messages.find((m) => m.error || m.errorDetail);
    if (failure) throw new SlimError(`the engine refused the image: ${failure.error ?? failure.errorDetail?.message}`, { code: 'LOAD_FAILED' });
    // A tagged load reports the tag instead of the ID: the tag says which image it is.
    const named = messages.map((m) => /^Loaded image: (\S+)/.exec((m.stream ?? '').trim())?.[1]).find(Boolean);
    const loaded = messages.map((m) => /Loaded image ID: (sha256:[0-9a-f]{64})/.exec(m.stream ?? '')?.[1]).find(Boolean) ?? (named ? (await this.inspectImage(named))?.id : undefined);
    if (!loaded) throw new SlimError(`the engine did not report the loaded image: ${JSON.stringify(messages).slice(0, 300)}`, { code: 'LOAD_FAILED' });
    return loaded;
  }

  async tagImage(id: string, repository: string, tag: string): Promise<void> {
    try {
      await this.calls.call(`tagging ${id}`, (abortSignal) => this.docker.getImage(id).tag({ repo: repository, tag, abortSignal }), REQUEST);
    } catch (err) {
      throw wrap(`tagging ${id} as ${repository}:${tag}`, err);
    }
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.calls.call(`removing image ${ref}`, (abortSignal) => this.docker.getImage(ref).remove({ noprune: false, abortSignal }), CLEANUP);
    } catch (err) {
      if (err instanceof SlimError) throw err;
      if (statusOf(err) !== 404) throw wrap(`removing image ${ref}`, err);
    }
  }

  async removeTag(ref: string): Promise<void> {
    // By ID the engine would remove the image whatever else names it: only tags are removed here.
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(ref) || !/:[\w][\w.-]*$/.test(ref)) throw new InternalError(`removeTag takes REPOSITORY:TAG, not "${ref}"`);
    await this.removeImage(ref);
  }

  async buildImage(contextDir: string, tag: string, buildArgs: Record<string, string>, signal: AbortSignal): Promise<void> {
    const src = (await readdir(contextDir, { recursive: true })).map(String);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.calls.call(`building ${tag}`, (abortSignal) => this.docker.buildImage({ context: contextDir, src }, { t: tag, buildargs: buildArgs, networkmode: 'host', rm: true, forcerm: true, abortSignal }), { signal });
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`building ${tag}`, err);
    }
    destroyOnAbort(stream as Readable, signal, this.calls);
    const messages = await readJsonMessages(stream);
    const failure = messages.find((m) => m.error || m.errorDetail);
    if (failure) {
      const tail = messages.map((m) => m.stream ?? '').join('').trim().split('\n').slice(-8).join('\n');
      throw new SlimError(`building ${tag} failed: ${failure.error ?? failure.errorDetail?.message}\n${tail}`, { code: 'BUILD_FAILED' });
    }
  }

  async removeDanglingImages(label: string): Promise<number> {
    const images = await this.calls.call('listing images', (abortSignal) => this.docker.listImages({ filters: { dangling: ['true'], label: [label] }, abortSignal }), REQUEST);
    let removed = 0;
    for (const i of images) {
      try {
        await this.calls.call(`removing image ${i.Id}`, (abortSignal) => this.docker.getImage(i.Id).remove({ abortSignal }), CLEANUP);
        removed++;
      } catch {
        /* in use by a build running right now: it goes next time */
      }
    }
    return removed;
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.calls.throwIfAborted();
    try {
      // Not aborted midway: the engine would make the volume anyway, and nobody would remove it.
      await this.calls.call(`creating volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: labels }), { ...REQUEST, abortable: false });
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`creating volume ${name}`, err);
    }
    if (this.calls.aborted) {
      await this.removeVolume(name).catch(() => {});
      this.calls.throwIfAborted();
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.calls.call(`removing volume ${name}`, (abortSignal) => this.docker.getVolume(name).remove({ force: true, abortSignal }), CLEANUP);
    } catch (err) {
      if (err instanceof SlimError) throw err;
      if (statusOf(err) !== 404) throw wrap(`removing volume ${name}`, err);
    }
  }

  async volumeExists(name: string): Promise<boolean> {
    try {
      await this.calls.call(`inspecting volume ${name}`, (abortSignal) => this.docker.getVolume(name).inspect({ abortSignal }), REQUEST);
      return true;
    } catch (err) {
      if (err instanceof SlimError) throw err;
      if (statusOf(err) === 404) return false;
      throw wrap(`inspecting volume ${name}`, err);
    }
  }

  async create(spec: RunSpec): Promise<CreatedContainer> {
    let c: Docker.Container;
    this.calls.throwIfAborted();
    try {
      // Not aborted midway: the engine would make the container anyway, and nobody would remove it.
      c = await this.calls.call(`creating a container from ${spec.image}`, () => this.docker.createContainer(toCreateOptions(spec)), { ...REQUEST, abortable: false });
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`creating a container from ${spec.image}`, err);
    }
    if (this.calls.aborted) {
      await removeContainer(c, this.calls).catch(() => {});
      this.calls.throwIfAborted();
    }
    return new DockerContainer(c, this.calls);
  }

  async run(spec: RunSpec): Promise<RunningContainer> {
    const created = await this.create(spec);
    const c = this.docker.getContainer(created.id);
    const handle = new DockerContainer(c, this.calls);
    try {
      await this.calls.call(`starting container ${c.id.slice(0, 12)}`, (abortSignal) => c.start({ abortSignal }), REQUEST);
    } catch (err) {
      await handle.remove().catch(() => {});
      if (err instanceof SlimError) throw err;
      throw new SlimError(`the container of ${spec.image} failed to start: ${engineMessage(err)}`, { code: 'START_FAILED', cause: err });
    }
    return handle;
  }

  async listByLabel(label: string) {
    const filters = JSON.stringify({ label: [label] });
    const containers = await this.calls.call('listing containers', (abortSignal) => this.docker.listContainers({ all: true, filters, abortSignal }), REQUEST);
    const volumes = await this.calls.call('listing volumes', (abortSignal) => this.docker.listVolumes({ filters, abortSignal }), REQUEST);
    return { containers: containers.map((c) => c.Id), volumes: (volumes.Volumes ?? []).map((v) => v.Name) };
  }
}

class DockerContainer implements RunningContainer {
  constructor(
    private readonly c: Docker.Container,
    private readonly calls: EngineCalls,
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

  async logs(): Promise<{ stdout: Buffer; stderr: Buffer }> {
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
      return { exitCode: info.Running ? -1 : info.ExitCode ?? -1, ...demux(Buffer.concat(chunks)) };
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
      const s = (await this.calls.call(`copying ${path} out of container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.getArchive({ path, abortSignal }), REQUEST)) as unknown as Readable;
      destroyOnAbort(s, undefined, this.calls);
      return s;
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`copying ${path} out of container ${this.id.slice(0, 12)}`, err);
    }
  }

  async putArchive(path: string, archive: Readable): Promise<void> {
    try {
      // Without copyUIDGID the engine keeps the archive's owners (with it, it would chown to the container's user).
      await this.calls.call(`copying into ${path} of container ${this.id.slice(0, 12)}`, (abortSignal) => this.c.putArchive(archive, { path, abortSignal }));
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`copying into ${path} of container ${this.id.slice(0, 12)}`, err);
    }
  }

  remove(): Promise<void> {
    return removeContainer(this.c, this.calls);
  }
}

async function removeContainer(c: Docker.Container, calls: EngineCalls): Promise<void> {
  try {
    await calls.call(`removing container ${c.id.slice(0, 12)}`, (abortSignal) => c.remove({ force: true, v: true, abortSignal }), CLEANUP);
  } catch (err) {
    if (err instanceof SlimError) throw err;
    const s = statusOf(err);
    if (s !== 404 && s !== 409) throw wrap(`removing container ${c.id.slice(0, 12)}`, err);
  }
}

function toCreateOptions(spec: RunSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.publish ?? []) {
    const b = parsePublish(p);
    exposed[b.containerPort] = {};
    (bindings[b.containerPort] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
  }
  return {
    Image: spec.image,
    ...(spec.entrypoint !== undefined ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd !== undefined ? { Cmd: spec.cmd } : {}),
    ...(spec.env ? { Env: spec.env } : {}),
    ...(spec.user !== undefined ? { User: spec.user } : {}),
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.stopTimeout !== undefined ? { StopTimeout: spec.stopTimeout } : {}),
    ExposedPorts: exposed,
    Labels: spec.labels,
    HostConfig: {
      ...(spec.network ? { NetworkMode: spec.network } : {}),
      Binds: spec.binds ?? [],
      Mounts: (spec.volumes ?? []).map((v) => ({ Type: 'volume' as const, Source: v.source, Target: v.target, ReadOnly: v.readOnly })),
      ExtraHosts: spec.extraHosts ?? [],
      PortBindings: bindings,
      CapAdd: spec.capAdd ?? [],
      ReadonlyRootfs: spec.readOnly ?? false,
      ...(spec.tmpfs ? { Tmpfs: spec.tmpfs } : {}),
      ...(spec.securityOpt ? { SecurityOpt: spec.securityOpt } : {}),
    },
  };
}

/** Split a non-TTY log stream: 8-byte frames (stream id, 3 zero bytes, big-endian length). */
export function demux(raw: Buffer): { stdout: Buffer; stderr: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= raw.length) {
    const kind = raw[i];
    const len = raw.readUInt32BE(i + 4);
    const body = raw.subarray(i + 8, i + 8 + len);
    (kind === 2 ? err : out).push(body);
    i += 8 + len;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

interface JsonMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

async function readJsonMessages(stream: NodeJS.ReadableStream): Promise<JsonMessage[]> {
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString();
  const out: JsonMessage[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    try {
      out.push(JSON.parse(t) as JsonMessage);
    } catch {
      out.push({ stream: t });
    }
  }
  return out;
}

/**
 * A stream from the engine ends when the run (or the caller) aborts, with the abort's reason. The
 * listeners go with the stream: a run opens hundreds of streams on one signal.
 */
function destroyOnAbort(s: Readable, signal: AbortSignal | undefined, calls: EngineCalls): void {
  const end = (reason: unknown) => void s.destroy(reason instanceof Error ? reason : undefined);
  if (signal?.aborted) return end(signal.reason);
  const onCaller = () => end(signal!.reason);
  signal?.addEventListener('abort', onCaller, { once: true });
  const detach = calls.onAbort(end);
  s.once('close', () => {
    signal?.removeEventListener('abort', onCaller);
    detach();
  });
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

function wrap(what: string, err: unknown): SlimError {
  return new SlimError(`${what}: ${engineMessage(err)}`, { code: 'ENGINE', cause: err });
}

