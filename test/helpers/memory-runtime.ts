import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { InternalError, SlimError } from '../../src/errors.js';
import type { ContainerConfig, ImageConfig } from '../../src/image/types.js';
import { parsePublish } from '../../src/runtime/publish.js';
import type { ContainerNetwork, ContainerState, CreatedContainer, ImageInspect, RunningContainer, RunSpec, Runtime } from '../../src/runtime/runtime.js';
import { mkLayer, type Spec } from './layers.js';

/** A node of a container's or a volume's tree, as a tar entry: a file when it has a body, else a directory unless its type says otherwise. */
export type MemFile = Omit<Spec, 'path'>;

/** What a container does, as the test scripts it. */
export interface Script {
  /** A job's exit code when it ends by itself; a service's when it is stopped. Default 0. */
  exitCode?: number;
  stdout?: string | Buffer;
  stderr?: string | Buffer;
  /** What it leaves, by absolute path (a string or Buffer is a file); under a volume's mount point it lands in the volume. */
  files?: Record<string, string | Buffer | MemFile>;
  /** Runs until stopped, instead of ending as soon as it starts. */
  service?: boolean;
  exec?: (cmd: string[], opts: { user?: string; timeoutSeconds?: number }) => { exitCode: number; stdout?: string | Buffer; stderr?: string | Buffer };
}
export type Behaviour = (spec: RunSpec) => Script;

interface Image { id: string; config: ImageConfig; configRaw: Buffer; layers: Buffer[] }
/** A volume's files by their path inside it (`/x`; `/` is the volume's own root). */
export interface Volume { labels: Record<string, string>; files: Map<string, MemFile> }
interface Container {
  id: string; spec: RunSpec; image: string; script: Script; status: 'created' | 'running' | 'exited'; exitCode: number;
  files: Map<string, MemFile>; mounts: { target: string; volume: string }[]; ended: Promise<void>; end: (exitCode: number) => void;
}

const OPS = ['ping', 'inspectImage', 'saveImage', 'loadImage', 'tagImage', 'removeImage', 'removeTag', 'buildImage', 'removeDanglingImages', 'createVolume', 'removeVolume', 'volumeExists', 'run', 'create', 'listByLabel'] as const satisfies readonly (keyof Runtime)[];
const ID = /^(sha256:)?[0-9a-f]{12,64}$/;
/** `REPO` names `REPO:latest`; a registry's port is not a tag. */
const normal = (ref: string) => (ref.slice(ref.lastIndexOf('/') + 1).includes(':') ? ref : `${ref}:latest`);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const buf = (s: string | Buffer | undefined) => (Buffer.isBuffer(s) ? s : Buffer.from(s ?? ''));
const engineError = (what: string, message: string) => new SlimError(`${what}: ${message}`, { code: 'ENGINE' });
const under = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(`${dir}/`);
const isDir = (f: MemFile) => (f.type ?? (f.body !== undefined ? 'file' : 'directory')) === 'directory';
const tarOf = async (entries: [string, MemFile][]) => Readable.from([await mkLayer(entries.map(([path, f]) => ({ ...f, path })))]);
/** A label filter as the engine's: `KEY` or `KEY=VALUE`. */
const matches = (labels: Record<string, string>, f: string) => (f.includes('=') ? labels[f.slice(0, f.indexOf('='))] === f.slice(f.indexOf('=') + 1) : Object.hasOwn(labels, f));

async function untar(archive: Readable): Promise<[string, MemFile][]> {
  const extract = tar.extract();
  const feeding = pipeline(archive, extract);
  feeding.catch(() => {});
  const out: [string, MemFile][] = [];
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e as AsyncIterable<Buffer>) chunks.push(c);
    const { name, type, mode, linkname } = e.header;
    if (type === 'file' || type === 'directory' || type === 'symlink') out.push([name, { type, mode, ...(type === 'file' ? { body: Buffer.concat(chunks) } : {}), ...(linkname ? { linkname } : {}) }]);
  }
  await feeding;
  return out;
}

/**
 * The engine in memory, for unit tests of the steps: images by ID (the sha256 of their config) and tags,
 * volumes, and containers that do what the test scripts for their image; every Runtime call is recorded
 * in `calls`. Bind mounts of host paths are not modelled: what a container writes there stays in its own tree.
 */
export class MemoryRuntime implements Runtime {
  readonly calls: { op: string; args: unknown[] }[] = [];
  /** REPO:TAG -> image ID. */
  readonly tags = new Map<string, string>();
  readonly volumes = new Map<string, Volume>();
  private readonly images = new Map<string, Image>();
  private readonly containers = new Map<string, Container>();
  private readonly behaviours = new Map<string, Behaviour>();

  constructor() {
    const self = this as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const op of OPS) self[op] = ((f) => (...args: unknown[]) => (this.calls.push({ op, args }), f(...args)))(self[op]!.bind(this));
  }

  /** What containers of `ref` (an image ID or REPO:TAG) do; looked up by the ref a container is made from, then its image's ID, then its tags. */
  script(ref: string, behaviour: Behaviour): void {
    this.behaviours.set(ref, behaviour);
  }

  /** An image without layers, as if pulled; equal configs are one image, as in the engine. */
  addImage(tags: string[], config: ContainerConfig = {}): string {
    return this.store(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] } } satisfies ImageConfig)), [], tags);
  }

  tagsOf(id: string): string[] {
    return [...this.tags].filter(([, i]) => i === id).map(([t]) => t);
  }

  async ping() {
    return { endpoint: 'memory://', version: 'memory', apiVersion: '1.41' };
  }

  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    const img = this.find(ref);
    if (!img) return undefined;
    return { id: img.id, repoTags: this.tagsOf(img.id), size: img.layers.reduce((n, l) => n + l.length, 0), os: img.config.os, architecture: img.config.architecture, config: img.config.config ?? {} };
  }

  /** Layers as the engine exports them, uncompressed; RepoTags only when saved by a tag. */
  async saveImage(ref: string, signal: AbortSignal): Promise<Readable> {
    signal.throwIfAborted();
    const img = this.find(ref);
    if (!img) throw engineError(`saving image ${ref}`, `reference does not exist`);
    const blob = (b: Buffer) => `blobs/sha256/${sha256(b).slice(7)}`;
    const manifest = [{ Config: blob(img.configRaw), RepoTags: ID.test(ref) ? null : [normal(ref)], Layers: img.layers.map(blob) }];
    return tarOf([...[img.configRaw, ...img.layers].map((body): [string, MemFile] => [blob(body), { body }]), ['manifest.json', { body: JSON.stringify(manifest) }]]);
  }

  async loadImage(archive: Readable, signal: AbortSignal): Promise<string> {
    // A cut upload loads nothing.
    const entries = await untar(archive).catch((err: Error) => {
      throw signal.aborted ? signal.reason : engineError('loading the image into the engine', err.message);
    });
    signal.throwIfAborted();
    const blobs = new Map(entries.flatMap(([n, f]) => (Buffer.isBuffer(f.body) ? [[posix.normalize(n), f.body] as const] : [])));
    const refused = (why: string) => new SlimError(`the engine refused the image: ${why}`, { code: 'LOAD_FAILED' });
    const list = JSON.parse(blobs.get('manifest.json')?.toString() ?? '[]') as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
    if (!list.length) throw refused('no image in manifest.json');
    const ids = list.map((item) => {
      const configRaw = blobs.get(item.Config);
      if (!configRaw) throw refused(`no config ${item.Config}`);
      // A missing layer shows as a diff ID that does not match.
      const layers = item.Layers.map((n) => blobs.get(n) ?? Buffer.alloc(0)).map((b) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b));
      return this.store(configRaw, layers, item.RepoTags ?? []);
    });
    return ids[0]!;
  }

  async tagImage(id: string, repository: string, tag: string): Promise<void> {
    const img = this.find(id);
    if (!img) throw engineError(`tagging ${id} as ${repository}:${tag}`, `No such image: ${id}`);
    this.tags.set(`${repository}:${tag}`, img.id);
  }

  async removeImage(ref: string): Promise<void> {
    const img = this.find(ref);
    if (!img) return;
    const tags = this.tagsOf(img.id);
    const byTag = !ID.test(ref);
    // As the engine without force: an image a container uses keeps its last tag, and an ID that several tags name stays.
    if ((this.inUse(img.id) && (!byTag || tags.length === 1)) || (!byTag && tags.length > 1)) throw engineError(`removing image ${ref}`, `conflict: unable to remove ${img.id.slice(7, 19)} (must be forced)`);
    for (const t of byTag ? [normal(ref)] : tags) this.tags.delete(t);
    if (!this.tagsOf(img.id).length) this.images.delete(img.id);
  }

  async removeTag(ref: string): Promise<void> {
    if (ID.test(ref) || !/:[\w][\w.-]*$/.test(ref)) throw new InternalError(`removeTag takes REPOSITORY:TAG, not "${ref}"`);
    const id = this.tags.get(ref);
    // Gone already is fine; another tag, or a container, keeps the image.
    if (id !== undefined && this.tags.delete(ref) && !this.tagsOf(id).length && !this.inUse(id)) this.images.delete(id);
  }

  /** No Dockerfile is run: the tag names an empty image that says what it was built from. */
  async buildImage(contextDir: string, tag: string, buildArgs: Record<string, string>, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.addImage([tag], { Labels: { 'memory.build': JSON.stringify({ contextDir, buildArgs }) } });
  }

  async removeDanglingImages(label: string): Promise<number> {
    const dangling = [...this.images.values()].filter((i) => !this.tagsOf(i.id).length && !this.inUse(i.id) && matches(i.config.config?.Labels ?? {}, label));
    for (const i of dangling) this.images.delete(i.id);
    return dangling.length;
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    if (!this.volumes.has(name)) this.volumes.set(name, { labels, files: new Map() });
  }

  async removeVolume(name: string): Promise<void> {
    if ([...this.containers.values()].some((c) => c.mounts.some((m) => m.volume === name))) throw engineError(`removing volume ${name}`, 'volume is in use');
    this.volumes.delete(name);
  }

  async volumeExists(name: string): Promise<boolean> {
    return this.volumes.has(name);
  }

  async run(spec: RunSpec): Promise<RunningContainer> {
    const c = this.make(spec);
    if (c.script.service) c.status = 'running';
    else c.end(c.script.exitCode ?? 0);
    return this.handle(c);
  }

  async create(spec: RunSpec): Promise<CreatedContainer> {
    return this.handle(this.make(spec));
  }

  async listByLabel(label: string) {
    const containers = [...this.containers.values()].filter((c) => matches(c.spec.labels, label)).map((c) => c.id);
    return { containers, volumes: [...this.volumes].filter(([, v]) => matches(v.labels, label)).map(([n]) => n) };
  }

  /** The steps never look containers up by name: slim debug is tested on the real engine. */
  async inspectContainer(): Promise<undefined> {
    return undefined;
  }

  async runAttached(): Promise<never> {
    throw new Error('MemoryRuntime does not attach to containers: slim debug is tested on the real engine');
  }

  private find(ref: string): Image | undefined {
    if (ID.test(ref)) return [...this.images.values()].find((i) => i.id.slice(7).startsWith(ref.replace(/^sha256:/, '')));
    return this.images.get(this.tags.get(normal(ref)) ?? '');
  }

  /** A tag names one image: given to another, it leaves the one it named. */
  private store(configRaw: Buffer, layers: Buffer[], tags: string[]): string {
    const id = sha256(configRaw);
    const config = JSON.parse(configRaw.toString()) as ImageConfig;
    if (JSON.stringify(layers.map(sha256)) !== JSON.stringify(config.rootfs?.diff_ids ?? [])) throw new SlimError(`the engine refused the image: its layers are not the config's diff_ids`, { code: 'LOAD_FAILED' });
    if (!this.images.has(id)) this.images.set(id, { id, config, configRaw, layers });
    for (const t of tags) this.tags.set(normal(t), id);
    return id;
  }

  private inUse(id: string): boolean {
    return [...this.containers.values()].some((c) => c.image === id);
  }

  private make(spec: RunSpec): Container {
    const img = this.find(spec.image);
    if (!img) throw engineError(`creating a container from ${spec.image}`, `No such image: ${spec.image}`);
    const named = (spec.binds ?? []).map((b) => b.split(':')).filter(([source, target]) => target !== undefined && !source!.startsWith('/'));
    const mounts = [...(spec.volumes ?? []).map((v) => ({ target: v.target, volume: v.source })), ...named.map(([volume, target]) => ({ target: target!, volume: volume! }))];
    // `docker run -v NAME:DST` makes the volume when there is none.
    for (const m of mounts) if (!this.volumes.has(m.volume)) this.volumes.set(m.volume, { labels: {}, files: new Map() });
    const behaviour = this.behaviours.get(spec.image) ?? this.behaviours.get(img.id) ?? this.tagsOf(img.id).map((t) => this.behaviours.get(t)).find(Boolean);
    const script = behaviour?.(spec) ?? {};
    let resolve = () => {};
    const ended = new Promise<void>((r) => (resolve = r));
    const end = (exitCode: number) => {
      Object.assign(c, { status: 'exited', exitCode });
      resolve();
    };
    const c: Container = { id: randomBytes(32).toString('hex'), spec, image: img.id, script, status: 'created', exitCode: 0, files: new Map(), mounts, ended, end };
    for (const [p, f] of Object.entries(script.files ?? {})) this.write(c, posix.normalize(p), typeof f === 'string' || Buffer.isBuffer(f) ? { body: f } : f);
    this.containers.set(c.id, c);
    return c;
  }

  private write(c: Container, path: string, f: MemFile): void {
    const m = c.mounts.find((x) => under(path, x.target));
    if (m) this.volumes.get(m.volume)!.files.set(path.slice(m.target.length) || '/', f);
    else c.files.set(path, f);
  }

  /** The container's tree with its volumes mounted. */
  private view(c: Container): Map<string, MemFile> {
    const mounted = c.mounts.flatMap((m) => [[m.target, { type: 'directory' }] as const, ...[...(this.volumes.get(m.volume)?.files ?? [])].map(([p, f]) => [p === '/' ? m.target : m.target + p, f] as const)]);
    return new Map<string, MemFile>([...[...c.files].filter(([p]) => !c.mounts.some((m) => under(p, m.target))), ...mounted]);
  }

  /** As the engine's archive API: entries named from the path's own base name, parent directories included. */
  private copyOut(c: Container, path: string): Promise<Readable> {
    const at = posix.normalize(path).replace(/(.)\/+$/, '$1');
    const view = this.view(c);
    const paths = new Set<string>();
    for (const p of view.keys()) if (under(p, at)) for (let q = p; q !== posix.dirname(at) && q !== '/'; q = posix.dirname(q)) paths.add(q);
    if (!paths.size && at !== '/') throw engineError(`copying ${path} out of container ${c.id.slice(0, 12)}`, `Could not find the file ${path} in container ${c.id}`);
    const name = (p: string) => (at === '/' ? p.slice(1) : posix.join(posix.basename(at), posix.relative(at, p)));
    return tarOf([...paths].sort().map((p) => [name(p), view.get(p) ?? { type: 'directory' }]));
  }

  private handle(c: Container): RunningContainer & CreatedContainer {
    // As the engine's: a container that is gone answers nothing but stop and remove.
    const live = async <T>(what: string, f: () => T | Promise<T>, goneIsFine = false): Promise<T> => {
      this.calls.push({ op: `container.${what}`, args: [c.id] });
      if (!goneIsFine && !this.containers.has(c.id)) throw engineError(`${what} of container ${c.id.slice(0, 12)}`, `No such container: ${c.id}`);
      return f();
    };
    return {
      id: c.id,
      state: () => live('state', (): ContainerState => ({ running: c.status === 'running', exitCode: c.status === 'exited' ? c.exitCode : 0, oomKilled: false })),
      // A created container is not running: the engine's wait answers at once.
      wait: () => live('wait', () => (c.status === 'created' ? 0 : c.ended.then(() => c.exitCode))),
      logs: () => live('logs', () => (c.status === 'created' ? { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) } : { stdout: buf(c.script.stdout), stderr: buf(c.script.stderr) })),
      exec: (cmd, opts = {}) =>
        live('exec', () => {
          if (c.status !== 'running') throw engineError(`running ${cmd[0]} in container ${c.id.slice(0, 12)}`, `container ${c.id} is not running`);
          const r = c.script.exec?.(cmd, opts) ?? { exitCode: 127, stderr: `exec: "${cmd[0]}": executable file not found in $PATH` };
          return { exitCode: r.exitCode, stdout: buf(r.stdout), stderr: buf(r.stderr) };
        }),
      // Each published port bound as asked, an ephemeral host port where none was given.
      network: () => live('network', (): ContainerNetwork => ({ mode: c.spec.network ?? 'bridge', ports: Object.fromEntries((c.spec.publish ?? []).map(parsePublish).map((b, i) => [b.containerPort, [{ hostIp: b.hostIp || '0.0.0.0', hostPort: b.hostPort || String(32768 + i) }]])) })),
      copyOut: (path) => live('copyOut', () => this.copyOut(c, path)),
      putArchive: (path, archive) =>
        live('putArchive', async () => {
          const at = posix.normalize(path);
          if (![...this.view(c)].some(([p, f]) => under(p, at) && (p !== at || isDir(f))) && at !== '/') throw engineError(`copying into ${path} of container ${c.id.slice(0, 12)}`, `Could not find the directory ${path} in container ${c.id}`);
          for (const [n, e] of await untar(archive)) this.write(c, posix.join(at, n).replace(/(.)\/+$/, '$1'), e);
        }),
      stop: () => live('stop', () => (c.status === 'running' ? c.end(c.script.exitCode ?? 0) : undefined), true),
      // Forced, as the engine's: a running container is killed.
      remove: () => live('remove', () => (this.containers.delete(c.id) && c.status === 'running' ? c.end(137) : undefined), true),
    };
  }
}
