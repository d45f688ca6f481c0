import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SlimError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
import { ENGINE_NAMES, type Flavour } from './engine-flavour.js';
import type { Runtime } from './runtime.js';

export const RUNTIME_CHOICES = ['docker', 'podman', 'oci', 'auto'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export const PODMAN_HINT =
  'start Podman\'s service: `podman system service --time=0 unix:///run/podman/podman.sock &` (rootless: unix://$XDG_RUNTIME_DIR/podman/podman.sock), or set CONTAINER_HOST';

/** `--runtime` (or `runtime:` in slim.yaml, which commander does not check against its choices). */
export function parseRuntimeChoice(value: string | undefined): RuntimeChoice {
  const v = value ?? 'auto';
  if ((RUNTIME_CHOICES as readonly string[]).includes(v)) return v as RuntimeChoice;
  throw new UsageError(`--runtime must be one of ${RUNTIME_CHOICES.join(', ')}, not "${v}"`);
}

/** An endpoint where an engine may answer. */
export interface Candidate {
  /** The engine expected there. */
  flavour: Flavour;
  /** unix:///…, tcp://…, as messages name it. */
  url: string;
  options: DockerRuntimeOptions;
  /** A socket to look for before asking, when other candidates follow. */
  socketPath?: string;
}

/** CONTAINER_HOST as Podman reads it: unix://PATH (also `unix://run/…`, rooted), or tcp://HOST:PORT. */
export function podmanEndpoint(url: string, from = 'CONTAINER_HOST'): Candidate {
  const unix = /^unix:\/\/(.+)$/.exec(url);
  if (unix) {
    const socketPath = unix[1]!.startsWith('/') ? unix[1]! : `/${unix[1]}`;
    return { flavour: 'podman', url: `unix://${socketPath}`, options: { socketPath, from } };
  }
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d+)\/?$/.exec(url);
  if (tcp) return { flavour: 'podman', url, options: { tcp: { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) }, from } };
  if (/^ssh:/.test(url)) {
    throw new UsageError(`${from}=${url}: slim reaches Podman's API through a unix socket or tcp://, not ssh`, {
      hint: 'forward the remote socket (`ssh -nNT -L /tmp/podman.sock:/run/podman/podman.sock HOST`) and set CONTAINER_HOST=unix:///tmp/podman.sock',
    });
  }
  throw new UsageError(`${from}=${url} is not unix://PATH or tcp://HOST:PORT`);
}

/**
 * Where each choice looks, in order. DOCKER_HOST and CONTAINER_HOST are the user's word for an
 * endpoint: the one that is set is the only one asked for its engine. `auto` asks Docker's
 * endpoint first and falls back to Podman's sockets only from Docker's default socket.
 */
export function candidates(choice: RuntimeChoice, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): Candidate[] {
  const docker: Candidate[] = env.DOCKER_HOST
    ? [{ flavour: 'docker', url: env.DOCKER_HOST, options: {} }]
    : [{ flavour: 'docker', url: 'unix:///var/run/docker.sock', options: {}, socketPath: '/var/run/docker.sock' }];
  if (choice === 'docker') return docker;
  const runDir = env.XDG_RUNTIME_DIR || (uid !== 0 ? `/run/user/${uid}` : undefined);
  const sockets = [...new Set([...(runDir ? [join(runDir, 'podman/podman.sock')] : []), '/run/podman/podman.sock'])];
  const podman = env.CONTAINER_HOST
    ? [podmanEndpoint(env.CONTAINER_HOST)]
    : sockets.map((socketPath): Candidate => ({ flavour: 'podman', url: `unix://${socketPath}`, options: { socketPath }, socketPath }));
  if (choice === 'podman') return podman;
  return env.DOCKER_HOST ? docker : [...docker, ...podman];
}

/** The daemonless runtime (runc or crun), when one is installed; a layer above makes it. */
export interface Daemonless {
  binary: string;
  make: () => Runtime;
}

export interface Selected {
  runtime: Runtime;
  flavour: Flavour | 'oci';
  /** The one line that says which engine, where, and why. */
  line: string;
  /** Nothing to tell: auto found Docker at its default socket, as slim always did (the line is then debug output). */
  usual: boolean;
}

/**
 * The first candidate whose engine answers. A lone candidate fails with its own error (it names
 * the endpoint and the variable it came from); several fail together, each with what it said.
 */
export async function selectRuntime(choice: RuntimeChoice, opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; daemonless?: Daemonless } = {}): Promise<Selected> {
  if (choice === 'oci') return daemonlessRuntime(opts.daemonless, '--runtime oci');
  return selectFrom(choice, candidates(choice, opts.env ?? process.env), opts);
}

async function daemonlessRuntime(d: Daemonless | undefined, why: string): Promise<Selected> {
  if (!d) {
    throw new SlimError('--runtime oci needs runc or crun, and neither is on PATH', { code: 'ENGINE_UNREACHABLE', hint: 'install runc (apt-get install runc), or set SLIM_OCI_RUNTIME to its path' });
  }
  const runtime = d.make();
  const ping = await runtime.ping();
  return { runtime, flavour: 'oci', usual: false, line: `runtime: ${ping.version} at ${d.binary}, daemonless (${why})` };
}

/** selectRuntime over a given list of candidates. */
export async function selectFrom(choice: RuntimeChoice, list: Candidate[], opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; daemonless?: Daemonless } = {}): Promise<Selected> {
  const env = opts.env ?? process.env;
  const missed: string[] = [];
  for (const c of list) {
    const where = `${ENGINE_NAMES[c.flavour]} at ${c.url}`;
    if (list.length > 1 && c.socketPath && !existsSync(c.socketPath)) {
      missed.push(`${where}: no such socket`);
      continue;
    }
    const runtime = new DockerRuntime({ ...c.options, ...(opts.signal ? { signal: opts.signal } : {}) });
    let ping: Awaited<ReturnType<DockerRuntime['ping']>>;
    try {
      ping = await runtime.ping();
    } catch (err) {
      opts.signal?.throwIfAborted();
      if (list.length === 1) throw err instanceof SlimError && choice === 'podman' && err.code === 'ENGINE_UNREACHABLE' ? new SlimError(err.message, { code: err.code, hint: PODMAN_HINT, cause: err }) : err;
      missed.push(`${where}: ${(err as Error).message.replace(/^cannot reach the container engine at \S+( \(\w+\))?: /, '')}`);
      continue;
    }
    const source = c.options.from ?? (c.flavour === 'docker' && env.DOCKER_HOST ? 'DOCKER_HOST' : undefined);
    const why = [choice === 'auto' ? 'auto' : `--runtime ${choice}`, source, ...missed].filter(Boolean).join('; ');
    const unexpected = ping.flavour !== c.flavour ? `; it answers as ${ENGINE_NAMES[ping.flavour]}` : '';
    // Smoke commands reach the same engine with the docker CLI (`docker logs "$SLIM_CONTAINER"`), and
    // published ports are looked for at its host (verify/endpoint.ts reads DOCKER_HOST).
    if (c.flavour === 'podman') env.DOCKER_HOST = c.url;
    const usual = choice === 'auto' && !source && !missed.length && ping.flavour === 'docker';
    return { runtime, flavour: ping.flavour, usual, line: `engine: ${ENGINE_NAMES[ping.flavour]} ${ping.version} (API ${ping.apiVersion}) at ${c.url} (${why}${unexpected})` };
  }
  // auto ends at runc or crun when no engine answers where engines are looked for by default: a CI
  // runner without a daemon still runs slim. DOCKER_HOST and CONTAINER_HOST are the user's word: no fallback from them.
  if (choice === 'auto' && opts.daemonless && !env.DOCKER_HOST && !env.CONTAINER_HOST) {
    opts.signal?.throwIfAborted();
    return daemonlessRuntime(opts.daemonless, `auto; ${missed.join('; ')}`);
  }
  throw new SlimError(`cannot reach a container engine: ${missed.join('; ')}`, {
    code: 'ENGINE_UNREACHABLE',
    hint: choice === 'podman' ? PODMAN_HINT : 'start dockerd, or Podman\'s service (`podman system service --time=0 unix:///run/podman/podman.sock &`), or point DOCKER_HOST or CONTAINER_HOST at a running engine',
  });
}

/**
 * A runtime that picks its engine on first use and says which in one info line (a debug line when
 * auto found Docker at its default socket: that is no news, and a one-line error stays one line).
 * A command that never talks to an engine (lint, a file-only inspect) asks none. A failed choice stays failed.
 */
export function selectedRuntime(choice: RuntimeChoice, opts: { signal?: AbortSignal; log: Logger; env?: NodeJS.ProcessEnv; daemonless?: Daemonless }): Runtime {
  let chosen: Promise<Runtime> | undefined;
  const get = () =>
    (chosen ??= selectRuntime(choice, opts).then((s) => {
      (s.usual ? opts.log.debug : opts.log.info)(s.line);
      return s.runtime;
    }));
  return new SelectedRuntime(get);
}

class SelectedRuntime implements Runtime {
  constructor(private readonly get: () => Promise<Runtime>) {}
  async ping() { return (await this.get()).ping(); }
  async inspectImage(ref: string) { return (await this.get()).inspectImage(ref); }
  async saveImage(...a: Parameters<Runtime['saveImage']>) { return (await this.get()).saveImage(...a); }
  async loadImage(...a: Parameters<Runtime['loadImage']>) { return (await this.get()).loadImage(...a); }
  async tagImage(...a: Parameters<Runtime['tagImage']>) { return (await this.get()).tagImage(...a); }
  async removeImage(ref: string) { return (await this.get()).removeImage(ref); }
  async removeTag(ref: string) { return (await this.get()).removeTag(ref); }
  async buildImage(...a: Parameters<Runtime['buildImage']>) { return (await this.get()).buildImage(...a); }
  async removeDanglingImages(label: string) { return (await this.get()).removeDanglingImages(label); }
  async inspectContainer(ref: string) { return (await this.get()).inspectContainer(ref); }
  async runAttached(...a: Parameters<Runtime['runAttached']>) { return (await this.get()).runAttached(...a); }
  async createVolume(...a: Parameters<Runtime['createVolume']>) { return (await this.get()).createVolume(...a); }
  async removeVolume(name: string) { return (await this.get()).removeVolume(name); }
  async volumeExists(name: string) { return (await this.get()).volumeExists(name); }
  async run(...a: Parameters<Runtime['run']>) { return (await this.get()).run(...a); }
  async create(...a: Parameters<Runtime['create']>) { return (await this.get()).create(...a); }
  async listByLabel(label: string) { return (await this.get()).listByLabel(label); }
}
