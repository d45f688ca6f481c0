import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname as hostName } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SlimError, UsageError } from '../errors.js';
import type { ContainerConfig } from '../image/types.js';
import { resolveUser, type Identity } from '../closure/users.js';
import { CAPABILITIES } from '../runtime/docker-run-flags.js';
import { parsePublish } from '../runtime/publish.js';
import type { ImageInspect, Runtime, RunSpec } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { bundleSpec, containerArgs, containerEnv, type DockerSeccomp, type OciMount } from './bundle-spec.js';
import { hostPathIn, resolveInContainer, type HostMount } from './container-paths.js';
import { ImageStore, type StoredImage } from './image-store.js';
import { indexArchive } from './index-archive.js';
import { materialize } from './materialize.js';
import { OciContainer } from './oci-container.js';
import { archivePath, extractInto } from './path-archive.js';
import { Runc, startFailed, startFailure } from './runc.js';

/** The OCI runtime binaries slim drives, in the order it looks for them. */
export const OCI_BINARIES = ['runc', 'crun'] as const;

/** The first of runc and crun on PATH (or SLIM_OCI_RUNTIME, a path or name). */
export function findOciBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const wanted = env.SLIM_OCI_RUNTIME ? [env.SLIM_OCI_RUNTIME] : [...OCI_BINARIES];
  for (const name of wanted) {
    if (name.includes('/')) {
      if (existsSync(name)) return name;
      continue;
    }
    for (const dir of (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

interface Mounts {
  /** What the container sees of the host (volumes and binds), for the archive API. */
  host: HostMount[];
  oci: OciMount[];
  /** Anonymous volumes (`-v /data`): the container's, removed with it. */
  anonymous: string[];
}

/**
 * Containers without an engine: slim unpacks each image into an OCI runtime bundle itself and
 * runs it with runc (or crun). Images, volumes, bundles and runc's state live in one directory
 * of the run, removed with it; nothing is left on the machine. Needs root (runc's rootless mode
 * needs a user namespace setup slim does not make).
 */
export class OciRuntime implements Runtime {
  private dir: Promise<string> | undefined;
  private store: ImageStore | undefined;
  private runc: Runc | undefined;
  private readonly containers = new Map<string, { labels: Record<string, string>; handle: OciContainer }>();

  constructor(private readonly opts: { scope: Scope; binary: string }) {}

  private state(): Promise<string> {
    return (this.dir ??= (async () => {
      const dir = await this.opts.scope.tempDir('slim-oci-');
      await mkdir(join(dir, 'volumes'));
      this.store = new ImageStore(join(dir, 'images'));
      this.runc = new Runc(this.opts.binary, join(dir, 'runc'));
      // Before the directory goes (cleanups run last first): anything still running is stopped.
      this.opts.scope.defer(`daemonless containers of ${dir}`, async () => {
        for (const c of [...this.containers.values()]) await c.handle.remove().catch(() => {});
        await this.store?.close();
      });
      return dir;
    })());
  }

  private async images(): Promise<ImageStore> {
    await this.state();
    return this.store!;
  }

  async ping(): Promise<{ endpoint: string; version: string; apiVersion: string; flavour: 'oci' }> {
    if (process.getuid?.() !== 0) {
      throw new SlimError(`--runtime oci runs containers with ${this.opts.binary}, which needs root here`, { code: 'ENGINE_UNREACHABLE', hint: 'run slim as root, or use Docker or Podman (--runtime docker|podman)' });
    }
    const version = await new Runc(this.opts.binary, '/nonexistent').version().catch((err: Error) => {
      throw new SlimError(`cannot run ${this.opts.binary}: ${err.message}`, { code: 'ENGINE_UNREACHABLE' });
    });
    return { endpoint: this.opts.binary, version, apiVersion: 'OCI runtime spec 1.0.2', flavour: 'oci' };
  }

  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return (await this.images()).inspect(ref);
  }

  async saveImage(ref: string): Promise<Readable> {
    return (await this.images()).save(ref);
  }

  async loadImage(archive: Readable, signal: AbortSignal): Promise<string> {
    return (await this.images()).load(archive, signal);
  }

  async tagImage(id: string, repository: string, tag: string): Promise<void> {
    (await this.images()).tag(id, `${repository}:${tag}`);
  }

  async removeImage(ref: string): Promise<void> {
    await (await this.images()).remove(ref);
  }

  async removeTag(ref: string): Promise<void> {
    await (await this.images()).untag(ref);
  }

  async buildImage(contextDir: string): Promise<void> {
    throw new SlimError(`--runtime oci builds no images (asked to build ${contextDir})`, { code: 'BUILD_UNSUPPORTED' });
  }

  async removeDanglingImages(): Promise<number> {
    return 0;
  }

  private async volumeDir(name: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new UsageError(`invalid volume name "${name}"`);
    return join(await this.state(), 'volumes', name);
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    const dir = await this.volumeDir(name);
    await mkdir(join(dir, '_data'), { recursive: true });
    await writeFile(join(dir, 'labels.json'), JSON.stringify(labels));
  }

  async removeVolume(name: string): Promise<void> {
    await rm(await this.volumeDir(name), { recursive: true, force: true });
  }

  async volumeExists(name: string): Promise<boolean> {
    return existsSync(join(await this.volumeDir(name), '_data'));
  }

  async listByLabel(label: string): Promise<{ containers: string[]; volumes: string[] }> {
    const [key, value] = label.split('=') as [string, string | undefined];
    const matches = (labels: Record<string, string>) => key in labels && (value === undefined || labels[key] === value);
    const containers = [...this.containers].filter(([, c]) => matches(c.labels)).map(([id]) => id);
    const volumes: string[] = [];
    const root = join(await this.state(), 'volumes');
    for (const name of await readdir(root)) {
      const labels = JSON.parse(await readFile(join(root, name, 'labels.json'), 'utf8').catch(() => '{}')) as Record<string, string>;
      if (matches(labels)) volumes.push(name);
    }
    return { containers, volumes };
  }

  /** Containers live within one slim run: there is none of another to find. */
  async inspectContainer(): Promise<undefined> {
    return undefined;
  }

  async runAttached(): Promise<never> {
    throw new UsageError('slim debug needs an engine (Docker or Podman): the daemonless runtime\'s containers live only within one slim run', { hint: 'debug the slim image where an engine runs: docker load -i the image\'s archive, then slim debug IMAGE' });
  }

  async create(spec: RunSpec): Promise<OciContainer> {
    return (await this.prepare(spec)).handle;
  }

  async run(spec: RunSpec): Promise<OciContainer> {
    const c = await this.prepare(spec);
    try {
      await c.start();
    } catch (err) {
      await c.handle.remove().catch(() => {});
      throw err;
    }
    return c.handle;
  }

  private async prepare(spec: RunSpec): Promise<{ handle: OciContainer; start: () => Promise<void> }> {
    const network = spec.network ?? 'host';
    if (network !== 'host' && network !== 'none') {
      throw new UsageError(`--network ${network}: with --runtime oci a container has the host's network or none`, { hint: 'use --network host (the default here) or --network none' });
    }
    for (const p of spec.publish ?? []) {
      const b = parsePublish(p);
      if (b.hostPort && `${b.hostPort}/tcp` !== b.containerPort && `${b.hostPort}/udp` !== b.containerPort) {
        throw new UsageError(`--publish ${p}: with --runtime oci containers use the host's network, so a port cannot be mapped to another`, { hint: `publish it as ${b.containerPort.split('/')[0]}, or use Docker or Podman` });
      }
    }
    const store = await this.images();
    const image = store.mustGet(spec.image);
    const runc = this.runc!;
    const id = randomBytes(32).toString('hex');
    const bundle = join(await this.state(), 'containers', id);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(bundle, { recursive: true });
    const mounts = await this.mountsOf(spec, image);
    const config: ContainerConfig = image.read.config.config ?? {};
    let unpacked: Promise<void> | undefined;
    const unpack = () => (unpacked ??= materialize(image.read.index, image.spool, rootfs, '/', this.opts.scope.signal).then(() => {}));
    const fs = { rootfs, mounts: mounts.host };
    const inRootfs = async (p: string) => hostPathIn(rootfs, mounts.host, await resolveInContainer(rootfs, mounts.host, p).catch(() => p)).startsWith(rootfs + '/') || p === '/';
    const files = await passwdOf(image);
    const identity = (user: string | undefined): Identity => resolveUser(user || config.User || undefined, files.passwd, files.group);
    let removed = false;
    const logs = { out: join(bundle, 'stdout.log'), err: join(bundle, 'stderr.log') };
    const handle: OciContainer = new OciContainer(
      {
        id,
        network,
        logs,
        stopSignal: (config.StopSignal ?? 'TERM').replace(/^SIG/, ''),
        execUser: (user) => {
          const who = identity(user);
          return `${who.uid}:${who.gid}`;
        },
        copyOut: async (p) => {
          if (!unpacked && (await inRootfs(p))) {
            const a = indexArchive(image.read.index, image.spool, p);
            if (!a) throw notFound(p);
            return a;
          }
          if (unpacked) await unpacked;
          return archivePath(fs, p).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'ENOENT' ? notFound(p) : err;
          });
        },
        putArchive: async (p, archive) => {
          if (await inRootfs(p)) await unpack();
          await extractInto(fs, p, archive);
        },
        remove: async () => {
          if (removed) return;
          removed = true;
          await runc.delete(id);
          for (const v of mounts.anonymous) await this.removeVolume(v);
          await rm(bundle, { recursive: true, force: true });
          this.containers.delete(id);
        },
      },
      runc,
    );
    this.containers.set(id, { labels: spec.labels, handle });
    const start = async () => {
      await unpack();
      const who = identity(spec.user);
      const host = network === 'host' ? hostName() : id.slice(0, 12);
      const etc = { hosts: join(bundle, 'hosts'), hostname: join(bundle, 'hostname'), resolvConf: join(bundle, 'resolv.conf') };
      await writeFile(etc.hosts, hostsFile(network, host, spec.extraHosts ?? []));
      await writeFile(etc.hostname, `${host}\n`);
      await writeFile(etc.resolvConf, await readFile('/etc/resolv.conf').catch(() => Buffer.from('')));
      const args = containerArgs(config, spec);
      if (!args.length) throw new UsageError(`${spec.image} has no command to run: no entrypoint and no cmd`);
      const security = securityOf(spec.securityOpt ?? []);
      const oci = bundleSpec(
        {
          rootfs,
          args,
          env: containerEnv(config.Env ?? [], spec.env ?? [], host, who.home),
          cwd: spec.workdir || config.WorkingDir || '/',
          uid: who.uid,
          gid: who.gid,
          additionalGids: who.groups.filter((g) => g !== who.gid),
          capAdd: spec.capAdd ?? [],
          readonlyRoot: spec.readOnly ?? false,
          hostname: host,
          network,
          mounts: mounts.oci,
          etcFiles: etc,
          ...security,
        },
        CAPABILITIES,
      );
      await writeFile(join(bundle, 'config.json'), JSON.stringify(oci));
      const out = openSync(logs.out, 'a');
      const err = openSync(logs.err, 'a');
      const log = join(bundle, 'runc.log');
      const proc = runc.run(id, bundle, { out, err }, log);
      closeSync(out);
      closeSync(err);
      const exit = new Promise<number>((resolve) => proc.on('close', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0))));
      const failed = await waitStarted(runc, id, exit);
      if (failed !== undefined) {
        const msg = await startFailure(log);
        if (msg) throw startFailed(spec.image, msg);
      }
      handle.started(proc, exit);
    };
    return { handle, start };
  }

  /** Volumes (named ones filled from the image on first use, as Docker does), binds and tmpfs mounts. */
  private async mountsOf(spec: RunSpec, image: StoredImage): Promise<Mounts> {
    const m: Mounts = { host: [], oci: [], anonymous: [] };
    const addVolume = async (name: string, target: string, readOnly: boolean, copy: boolean) => {
      const dir = await this.volumeDir(name);
      if (!existsSync(join(dir, '_data'))) await this.createVolume(name, {});
      const data = join(dir, '_data');
      if (copy && (await readdir(data)).length === 0) {
        const r = image.read.index.resolve(target);
        if (r.entry?.kind === 'dir') await materialize(image.read.index, image.spool, data, r.real);
      }
      m.host.push({ target, source: data });
      m.oci.push({ destination: target, type: 'bind', source: data, options: ['rbind', readOnly ? 'ro' : 'rw'] });
    };
    for (const v of spec.volumes ?? []) await addVolume(v.source, v.target, v.readOnly, true);
    for (const b of spec.binds ?? []) {
      const parts = b.split(':');
      if (parts.length === 1) {
        const name = `slim-anon-${randomBytes(16).toString('hex')}`;
        m.anonymous.push(name);
        await addVolume(name, parts[0]!, false, true);
        continue;
      }
      const [source, target, opts = ''] = parts as [string, string, string?];
      const options = opts.split(',').filter(Boolean);
      const readOnly = options.includes('ro');
      if (source.startsWith('/')) {
        await mkdir(source, { recursive: true });
        const propagation = options.filter((o) => /^r?(private|shared|slave)$/.test(o));
        m.host.push({ target, source });
        m.oci.push({ destination: target, type: 'bind', source, options: ['rbind', readOnly ? 'ro' : 'rw', ...propagation] });
      } else {
        await addVolume(source, target, readOnly, !options.includes('nocopy'));
      }
    }
    for (const [target, opts] of Object.entries(spec.tmpfs ?? {})) {
      const given = opts.split(',').filter(Boolean);
      // Docker's tmpfs defaults; the user's options come after and win.
      m.oci.push({ destination: target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...given] });
    }
    return m;
  }
}

function notFound(p: string): SlimError {
  return new SlimError(`no such file or directory in the container: ${p}`, { code: 'NOT_FOUND' });
}

/** The image's /etc/passwd and /etc/group, as text, for resolving users (Docker resolves them in the container too). */
async function passwdOf(image: StoredImage): Promise<{ passwd?: string; group?: string }> {
  const text = async (p: string): Promise<string | undefined> => {
    const e = image.read.index.resolve(p).entry;
    return e?.kind === 'file' && e.size <= 4 << 20 ? (await image.spool.read(e)).toString('latin1') : undefined;
  };
  const [passwd, group] = [await text('/etc/passwd'), await text('/etc/group')];
  return { ...(passwd !== undefined ? { passwd } : {}), ...(group !== undefined ? { group } : {}) };
}

/** /etc/hosts as Docker writes it: the host's for the host network, localhost otherwise; --add-host lines after. */
function hostsFile(network: 'host' | 'none', host: string, extra: readonly string[]): string {
  const base = network === 'host' && existsSync('/etc/hosts')
    ? readFileSync('/etc/hosts', 'utf8')
    : `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${host}\n`;
  const added = extra.map((e) => {
    const i = e.lastIndexOf(':');
    const ip = e.slice(i + 1) === 'host-gateway' ? '127.0.0.1' : e.slice(i + 1);
    return `${ip}\t${e.slice(0, i)}\n`;
  });
  return base + (base.endsWith('\n') ? '' : '\n') + added.join('');
}

/** --security-opt as runc can apply it: no-new-privileges and a seccomp profile; AppArmor and SELinux labels are the engine's, not the runtime's. */
function securityOf(opts: readonly string[]): { noNewPrivileges: boolean; seccomp?: DockerSeccomp } {
  let noNewPrivileges = false;
  let seccomp: DockerSeccomp | undefined;
  for (const o of opts) {
    if (o === 'no-new-privileges' || /^no-new-privileges[=:](true|1)$/.test(o)) noNewPrivileges = true;
    else if (/^no-new-privileges[=:](false|0)$/.test(o)) noNewPrivileges = false;
    else if (o.startsWith('seccomp=')) {
      const v = o.slice('seccomp='.length);
      if (v !== 'unconfined' && v !== 'builtin') seccomp = JSON.parse(v) as DockerSeccomp;
    } else if (!/^(apparmor|label)[=:](unconfined|disable)$/.test(o)) {
      throw new UsageError(`--security-opt ${o}: not supported with --runtime oci`, { hint: 'the daemonless runtime applies no-new-privileges and seccomp profiles; AppArmor and SELinux labels need an engine' });
    }
  }
  return { noNewPrivileges, ...(seccomp ? { seccomp } : {}) };
}

/** Until runc says the container runs, or `runc run` ended (resolves with its exit code then). */
async function waitStarted(runc: Runc, id: string, exit: Promise<number>): Promise<number | undefined> {
  let ended: number | undefined;
  void exit.then((c) => (ended = c));
  for (;;) {
    if (ended !== undefined) return ended;
    const s = await runc.state(id);
    if (s && s.status !== 'creating' && s.status !== 'created') return ended;
    await new Promise((r) => setTimeout(r, 20));
  }
}
