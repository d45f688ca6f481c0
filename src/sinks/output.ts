import { accessSync, constants, createWriteStream, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BuiltImage } from '../pack/image-builder.js';
import { imageArchiveStream } from './image-archive-writer.js';
import { MediaType } from '../image/types.js';
import { SlimError, UsageError } from '../errors.js';
import { formatRegistryRef, parseRegistryRef, type RegistryRef } from '../registry/registry-ref.js';
import { metadataJson } from '../sources/archive-meta.js';

/** Where the slim image goes besides the engine it is verified in. */
export type OutputRef =
  | { kind: 'docker' }
  | { kind: 'oci'; dir: string; tag?: string }
  | { kind: 'oci-archive'; file: string; tag?: string }
  | { kind: 'docker-archive'; file: string }
  | { kind: 'registry'; ref: RegistryRef };

export function parseOutputRef(s: string): OutputRef {
  if (s === 'docker') return { kind: 'docker' };
  const registry = /^registry:(.+)$/.exec(s);
  if (registry) return { kind: 'registry', ref: parseRegistryRef(registry[1]!) };
  const archive = /^docker-archive:(.+)$/.exec(s);
  if (archive) return { kind: 'docker-archive', file: resolve(archive[1]!) };
  const m = /^(oci|oci-archive):(.+?)(?::([\w][\w.-]{0,127}))?$/.exec(s);
  if (!m) {
    throw new UsageError(`unknown --output "${s}"`, { hint: 'use docker, registry:HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE' });
  }
  const [, kind, path, tag] = m as unknown as [string, 'oci' | 'oci-archive', string, string | undefined];
  const where = resolve(path);
  return kind === 'oci' ? { kind, dir: where, ...(tag ? { tag } : {}) } : { kind, file: where, ...(tag ? { tag } : {}) };
}

export function describeOutput(o: OutputRef): string {
  if (o.kind === 'docker') return 'docker';
  if (o.kind === 'docker-archive') return `docker-archive:${o.file}`;
  if (o.kind === 'registry') return `registry:${formatRegistryRef(o.ref)}`;
  return `${o.kind}:${o.kind === 'oci' ? o.dir : o.file}${o.tag ? ':' + o.tag : ''}`;
}

/** Kernel pseudo-filesystems: nothing can be written there, and a recursive mkdir there never ends. */
const PSEUDO_FS = ['/proc', '/sys'];

/**
 * Check, before the build starts, that each file or layout output can be written: not under /proc
 * or /sys, no directory where a file goes (or a file where a layout goes), and the nearest
 * existing directory above it writable. A usage error (exit 2) otherwise.
 */
export function checkOutputPaths(outputs: OutputRef[]): OutputRef[] {
  for (const o of outputs) {
    if (o.kind === 'docker' || o.kind === 'registry') continue;
    const why = o.kind === 'oci' ? unwritable(o.dir, 'directory') : unwritable(o.file, 'file');
    if (why) throw new UsageError(`--output ${describeOutput(o)}: ${why}`);
  }
  return outputs;
}

function unwritable(target: string, want: 'directory' | 'file'): string | undefined {
  const under = (p: string) => PSEUDO_FS.find((d) => p === d || p.startsWith(`${d}/`));
  if (under(target)) return `${under(target)} is a kernel filesystem, not a place for an image`;
  const st = statOf(target);
  if (st) {
    if (want === 'directory' && !st.isDirectory()) return `${target} exists and is not a directory`;
    if (want === 'file' && st.isDirectory()) return `${target} is a directory`;
  }
  // The nearest existing directory: the target itself (a layout added to), else its closest ancestor.
  let dir = want === 'directory' && st ? target : dirname(target);
  let dst = statOf(dir);
  while (!dst && dir !== dirname(dir)) {
    dir = dirname(dir);
    dst = statOf(dir);
  }
  if (!dst) return `no directory above ${target} exists`;
  if (!dst.isDirectory()) return `${dir} is not a directory`;
  const real = realOf(dir);
  if (under(real)) return `${dir} is on ${under(real)}, a kernel filesystem, not a place for an image`;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    return `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return undefined;
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function realOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Write the image to a file or OCI layout. Written to a temporary name next to the target and
 * renamed into place, so a failure or Ctrl-C never leaves a half-written image under the name.
 */
export async function writeOutput(o: Exclude<OutputRef, { kind: 'docker' | 'registry' }>, img: BuiltImage, name: string, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  if (o.kind === 'oci') return writeOciLayout(o.dir, img, o.tag ?? 'latest', signal);
  const tmp = `${o.file}.slim-tmp-${process.pid}`;
  try {
    await mkdir(dirname(o.file), { recursive: true });
    const stream = o.kind === 'oci-archive' ? imageArchiveStream(img, { refName: o.tag ?? 'latest' }) : imageArchiveStream(img, { repoTags: [name] });
    await pipeline(stream, createWriteStream(tmp), ...(signal ? [{ signal }] : []));
    signal?.throwIfAborted();
    await rename(tmp, o.file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (signal?.aborted) throw signal.reason;
    throw new SlimError(`writing ${describeOutput(o)}: ${(err as Error).message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
}

interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

/** Add the image to an OCI layout (made if absent, and removed again if writing it fails or is aborted). */
async function writeOciLayout(dir: string, img: BuiltImage, tag: string, signal?: AbortSignal): Promise<void> {
  const exists = await stat(dir).then(() => true, () => false);
  try {
    await addToOciLayout(dir, exists, img, tag, signal);
  } catch (err) {
    if (!exists) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Replacing any manifest under the same ref name; index.json is written last, by rename. */
async function addToOciLayout(dir: string, exists: boolean, img: BuiltImage, tag: string, signal?: AbortSignal): Promise<void> {
  let index: OciIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  if (exists) {
    const layout = await readFile(join(dir, 'oci-layout'), 'utf8').catch(() => undefined);
    if (!layout) throw new SlimError(`${dir} exists and is not an OCI image layout`, { code: 'OUTPUT_FAILED', hint: 'give a new directory, or an existing OCI layout to add the image to' });
    index = metadataJson<OciIndex>(await readFile(join(dir, 'index.json')).catch(() => undefined), `oci:${dir}`, 'index.json');
    if (!Array.isArray(index.manifests)) throw new SlimError(`oci:${dir}: index.json lists no manifests`, { code: 'BAD_ARCHIVE' });
  }
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (digest: string, write: (tmp: string) => Promise<void>) => {
    const final = join(blobs, digest.slice('sha256:'.length));
    signal?.throwIfAborted();
    if (await stat(final).then(() => true, () => false)) return;
    const tmp = `${final}.slim-tmp-${process.pid}`;
    try {
      await write(tmp);
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  await put(img.layer.digest, (tmp) => copyFile(img.layer.path, tmp));
  await put(img.configDigest, (tmp) => writeFile(tmp, img.configRaw));
  await put(img.manifestDigest, (tmp) => writeFile(tmp, img.manifestRaw));
  if (!exists) await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const refName = 'org.opencontainers.image.ref.name';
  index.manifests = index.manifests.filter((m) => m.annotations?.[refName] !== tag);
  index.manifests.push({ mediaType: MediaType.ociManifest, digest: img.manifestDigest, size: img.manifestRaw.length, annotations: { [refName]: tag } });
  signal?.throwIfAborted();
  const tmpIndex = join(dir, `index.json.slim-tmp-${process.pid}`);
  await writeFile(tmpIndex, JSON.stringify(index));
  await rename(tmpIndex, join(dir, 'index.json'));
}

