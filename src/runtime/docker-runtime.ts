import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { AttachIo, AttachedContainer, ContainerInfo, CreatedContainer, ImageInspect, RunningContainer, RunSpec, Runtime } from './runtime.js';
import { inspectContainer, startAttached } from './docker-attach.js';
import { SlimError, errorMessage } from '../errors.js';
import { EngineCalls } from './engine-call.js';
import { DockerContainer, removeContainer } from './docker-container.js';
import { toCreateOptions } from './docker-create-options.js';
import { buildImage, inspectImage, loadImage, removeDanglingImages, removeImage, removeTag, saveImage, tagImage } from './docker-images.js';
import { PING_MS, REQUEST, dial, engineMessage, wrap, type DockerEngine } from './docker-requests.js';
import { createVolume, removeVolume, volumeExists } from './docker-volumes.js';
import { flavourOf, type Flavour } from './engine-flavour.js';
import { fillsVolumes, initialise, withSeccompFile } from './podman-create.js';

export interface DockerRuntimeOptions {
  /** A unix socket; else `tcp`; else DOCKER_HOST (with its TLS settings) or Docker's default socket. */
  socketPath?: string;
  /** A plain-HTTP endpoint (Podman's `tcp://HOST:PORT`). */
  tcp?: { host: string; port: number };
  /** The variable the endpoint came from, for messages (DOCKER_HOST, CONTAINER_HOST). */
  from?: string;
  /** Known already (the runtime selection asked): else asked of the engine on first need. */
  flavour?: Flavour;
  signal?: AbortSignal;
}

/**
 * The Docker Engine API through dockerode; dockerode's types stay in the docker-*.ts modules. Every
 * request is bounded (its answer must start in time) and aborted by `signal` (the run's), except removals.
 */
export class DockerRuntime implements Runtime {
  private readonly engine: DockerEngine;
  readonly endpoint: string;
  private known: Promise<Flavour> | undefined;

  constructor(opts: DockerRuntimeOptions = {}) {
    const env = !opts.socketPath && !opts.tcp;
    const docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : opts.tcp ? new Docker({ ...opts.tcp, protocol: 'http' }) : new Docker();
    this.endpoint = opts.socketPath ? `unix://${opts.socketPath}` : opts.tcp ? `tcp://${opts.tcp.host}:${opts.tcp.port}` : process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    const calls = new EngineCalls(this.endpoint, opts.from ?? (env && process.env.DOCKER_HOST ? 'DOCKER_HOST' : undefined), opts.signal);
    if (opts.flavour) this.known = Promise.resolve(opts.flavour);
    const local = /^unix:/.test(this.endpoint) || /^tcp:\/\/(127\.0\.0\.1|localhost|\[::1\]):/.test(this.endpoint);
    this.engine = { docker, calls, local, flavour: () => this.flavour() };
  }

  /** Docker or Podman: asked of the engine once, on the first request that answers differently on each. */
  flavour(): Promise<Flavour> {
    if (!this.known) {
      const asked = this.engine.calls.call('a version query', (s) => dial<Docker.DockerVersion>(this.engine.docker, '/version', 'GET', { 200: true, 500: 'server error' }, s), REQUEST).then(flavourOf);
      this.known = asked;
      // A failed query is asked again next time (the engine may have come up), not remembered.
      asked.catch(() => {
        if (this.known === asked) this.known = undefined;
      });
    }
    return this.known;
  }

  async ping() {
    const { docker, calls } = this.engine;
    try {
      const v = await calls.call('a ping', (abortSignal) => dial<Docker.DockerVersion>(docker, '/version', 'GET', { 200: true, 500: 'server error' }, abortSignal), { timeoutMs: PING_MS });
      const flavour = flavourOf(v);
      this.known ??= Promise.resolve(flavour);
      return { endpoint: this.endpoint, version: v.Version, apiVersion: v.ApiVersion, flavour };
    } catch (err) {
      if (err instanceof SlimError && err.code === 'ENGINE_TIMEOUT') {
        throw new SlimError(`cannot reach the container engine at ${calls.where}: no answer within ${PING_MS / 1000} s`, { code: 'ENGINE_UNREACHABLE', ...(err.hint ? { hint: err.hint } : {}) });
      }
      if (err instanceof SlimError) throw err;
      throw new SlimError(`cannot reach the container engine at ${calls.where}: ${errorMessage(err)}`, {
        code: 'ENGINE_UNREACHABLE',
        hint: 'start dockerd (or podman system service) or point DOCKER_HOST at a running engine',
        cause: err,
      });
    }
  }

  inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return inspectImage(this.engine, ref);
  }

  saveImage(ref: string, signal: AbortSignal): Promise<Readable> {
    return saveImage(this.engine, ref, signal);
  }

  loadImage(archive: Readable, signal: AbortSignal): Promise<string> {
    return loadImage(this.engine, archive, signal);
  }

  tagImage(id: string, repository: string, tag: string): Promise<void> {
    return tagImage(this.engine, id, repository, tag);
  }

  removeImage(ref: string): Promise<void> {
    return removeImage(this.engine, ref);
  }

  removeTag(ref: string): Promise<void> {
    return removeTag(this.engine, ref);
  }

  buildImage(contextDir: string, tag: string, buildArgs: Record<string, string>, signal: AbortSignal): Promise<void> {
    return buildImage(this.engine, contextDir, tag, buildArgs, signal);
  }

  removeDanglingImages(label: string): Promise<number> {
    return removeDanglingImages(this.engine, label);
  }

  createVolume(name: string, labels: Record<string, string>): Promise<void> {
    return createVolume(this.engine, name, labels);
  }

  removeVolume(name: string): Promise<void> {
    return removeVolume(this.engine, name);
  }

  volumeExists(name: string): Promise<boolean> {
    return volumeExists(this.engine, name);
  }

  async create(spec: RunSpec): Promise<CreatedContainer> {
    const { docker, calls } = this.engine;
    let c: Docker.Container;
    calls.throwIfAborted();
    const flavour = await this.flavour();
    const podman = flavour === 'podman';
    const { options, done } = podman ? await withSeccompFile(toCreateOptions(spec), this.engine.local) : { options: toCreateOptions(spec), done: async () => {} };
    try {
      // Not aborted midway: the engine would make the container anyway, and nobody would remove it.
      c = await calls.call(`creating a container from ${spec.image}`, () => docker.createContainer(options), { ...REQUEST, abortable: false });
    } catch (err) {
      if (err instanceof SlimError) throw err;
      throw wrap(`creating a container from ${spec.image}`, err);
    } finally {
      await done();
    }
    if (!calls.aborted && podman && fillsVolumes(spec)) {
      await initialise(this.engine, c.id, spec.image).catch(async (err: unknown) => {
        await removeContainer(c, calls).catch(() => {});
        throw err;
      });
    }
    if (calls.aborted) {
      await removeContainer(c, calls).catch(() => {});
      calls.throwIfAborted();
    }
    return new DockerContainer(c, calls, flavour, (spec.volumes ?? []).map((v) => v.target));
  }

  async run(spec: RunSpec): Promise<RunningContainer> {
    const { docker, calls } = this.engine;
    const created = await this.create(spec);
    const c = docker.getContainer(created.id);
    const handle = new DockerContainer(c, calls, await this.flavour());
    try {
      await calls.call(`starting container ${c.id.slice(0, 12)}`, (abortSignal) => c.start({ abortSignal }), REQUEST);
    } catch (err) {
      await handle.remove().catch(() => {});
      if (err instanceof SlimError) throw err;
      throw new SlimError(`the container of ${spec.image} failed to start: ${engineMessage(err)}`, { code: 'START_FAILED', cause: err });
    }
    return handle;
  }

  async runAttached(spec: RunSpec, io: AttachIo): Promise<AttachedContainer> {
    const created = await this.create({ ...spec, interactive: { tty: Boolean(io.tty) } });
    return startAttached(this.engine, created, io);
  }

  inspectContainer(ref: string): Promise<ContainerInfo | undefined> {
    return inspectContainer(this.engine, ref);
  }

  async listByLabel(label: string) {
    const { docker, calls } = this.engine;
    const filters = JSON.stringify({ label: [label] });
    const containers = await calls.call('listing containers', (abortSignal) => docker.listContainers({ all: true, filters, abortSignal }), REQUEST);
    const volumes = await calls.call('listing volumes', (abortSignal) => docker.listVolumes({ filters, abortSignal }), REQUEST);
    return { containers: containers.map((c) => c.Id), volumes: (volumes.Volumes ?? []).map((v) => v.Name) };
  }
}
