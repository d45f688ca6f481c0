import { mkdir, realpath, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../runtime/runtime.js';
import { silentLogger, type Logger } from '../log.js';
import type { Scope } from '../runtime/scope.js';
import { labelsFor, type RunSettings } from '../runtime/run-settings.js';
import { ensureProbeImage } from '../probe/probe-image.js';
import { copyTree } from '../util/copy-tree.js';

/** One `docker run -v` spec: `HOSTDIR:DST[:OPTS]` (a bind), `NAME:DST[:OPTS]` (a named volume) or `DST` (an anonymous volume). */
export interface MountSpec {
  kind: 'bind' | 'volume' | 'anonymous';
  /** The host path or the volume name; none for an anonymous volume. */
  source?: string;
  target: string;
  /** What followed the target (`ro`, `z`, `nocopy`, …), as given. */
  options: string[];
  readOnly: boolean;
}

export function parseMountSpec(spec: string): MountSpec {
  const parts = spec.split(':');
  if (parts.length === 1) return { kind: 'anonymous', target: normalise(parts[0]!), options: [], readOnly: false };
  const [source, target, opts = ''] = parts as [string, string, string?];
  const options = opts.split(',').filter(Boolean);
  const readOnly = options.includes('ro') || options.includes('readonly');
  return { kind: source.startsWith('/') ? 'bind' : 'volume', source, target: normalise(target), options, readOnly };
}

export function formatMountSpec(m: MountSpec): string {
  return [...(m.source !== undefined ? [m.source] : []), m.target, ...(m.options.length ? [m.options.join(',')] : [])].join(':');
}

function normalise(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/**
 * Where a job leaves its results for somebody to read: every writable bind mount and volume the
 * user gives, and every `VOLUME` of the image that no mount of the user covers (the engine gives
 * it a fresh anonymous volume). A tmpfs is gone when the job ends, so it is none of them.
 */
export function jobOutputPaths(volumes: readonly string[], imageVolumes: readonly string[], tmpfs: readonly string[]): string[] {
  const mounts = volumes.map(parseMountSpec);
  const covered = new Set([...mounts.map((m) => m.target), ...tmpfs.map(normalise)]);
  const out = [
    ...mounts.filter((m) => !m.readOnly && !tmpfs.map(normalise).includes(m.target)).map((m) => m.target),
    ...imageVolumes.map(normalise).filter((v) => !covered.has(v)),
  ];
  return [...new Set(out)].filter((p) => p.startsWith('/'));
}

export interface MountDeps {
  runtime: Runtime;
  scope: Scope;
  log?: Logger;
}

/**
 * Run `run` with the user's writable mounts replaced by copies of its own, so that no run sees
 * another's output and the user's directories and volumes are never changed: a bind-mounted
 * host directory is copied into a temp dir of the run, a named volume into a fresh volume that
 * carries the run label. Read-only mounts and anonymous volumes are passed as given. The copies
 * go when the run succeeds; when it fails they stay for the scope, which removes them after the
 * run's container.
 */
export async function withOwnMounts<T>(deps: MountDeps, settings: RunSettings, role: string, run: (settings: RunSettings) => Promise<T>): Promise<T> {
  const cleanups: { name: string; fn: () => Promise<void> }[] = [];
  const own = (name: string, fn: () => Promise<void>) => {
    deps.scope.defer(name, fn);
    cleanups.push({ name, fn });
  };
  const volumes: string[] = [];
  for (const spec of settings.volumes) {
    const m = parseMountSpec(spec);
    if (m.readOnly || m.kind === 'anonymous') volumes.push(spec);
    else if (m.kind === 'bind') volumes.push(formatMountSpec({ ...m, source: await copyBind(deps, m.source!, own) }));
    else volumes.push(formatMountSpec({ ...m, source: await copyVolume(deps, m.source!, role, own) }));
  }
  const result = await run({ ...settings, volumes });
  for (const c of cleanups.reverse()) {
    await c.fn();
    deps.scope.release(c.name);
  }
  return result;
}

type Own = (name: string, fn: () => Promise<void>) => void;

/** A copy of a host directory (or file) in a temp dir of the run; an absent one is an empty directory, as the engine would make. */
async function copyBind({ scope }: MountDeps, source: string, own: Own): Promise<string> {
  const dir = await scope.tempDir('slim-mount-');
  // The scope removes it at the end; this run removes it as soon as it is done.
  scope.release(`temp dir ${dir}`);
  own(`copy of ${source} in ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const copy = join(dir, 'copy');
  // The user's own path may be a symlink; inside it, nothing is followed.
  const from = await realpath(source).catch(() => undefined);
  if (from === undefined) await mkdir(copy);
  else await copyTree(from, copy, scope.signal);
  return copy;
}

/**
 * A fresh volume holding what the user's volume holds, copied through the engine's archive API
 * between two containers that never start (from the probe image, which is FROM scratch and has
 * nothing at the mount point, so the engine copies nothing of its own in). A volume that does
 * not exist gives an empty one, as `docker run` would create, and the user's stays absent.
 */
async function copyVolume({ runtime, scope, log }: MountDeps, source: string, role: string, own: Own): Promise<string> {
  const labels = labelsFor(scope.id, role);
  const name = `slim-${role}-${scope.id}-${randomBytes(3).toString('hex')}`;
  await runtime.createVolume(name, labels);
  own(`volume ${name}`, () => runtime.removeVolume(name));
  if (!(await runtime.volumeExists(source))) return name;
  const image = await ensureProbeImage(runtime, log ?? silentLogger, scope.signal);
  const at = '/.slim-volume';
  const from = await runtime.create({ image, volumes: [{ source, target: at, readOnly: true }], labels, network: 'none' });
  const to = await runtime.create({ image, volumes: [{ source: name, target: at, readOnly: false }], labels, network: 'none' }).catch(async (err: unknown) => {
    await from.remove();
    throw err;
  });
  const cleanup = `volume copy containers ${from.id.slice(0, 12)}`;
  scope.defer(cleanup, async () => {
    await from.remove();
    await to.remove();
  });
  try {
    await to.putArchive('/', await from.copyOut(at));
  } finally {
    await from.remove();
    await to.remove();
    scope.release(cleanup);
  }
  return name;
}
