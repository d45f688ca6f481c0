import { InternalError, SlimError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Scope } from '../runtime/scope.js';
import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import { registryOpener, type RegistryInputOptions } from '../registry/registry-source.js';
import { ContentSpool, type ContentReader } from '../sources/content-spool.js';
import type { ImageSource } from '../sources/image-source.js';
import { mustExist, openSource } from '../sources/open-source.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import { parseSourceRef, type FileSource } from '../sources/source-ref.js';
import { checkEnginePlatform } from '../sources/platform-check.js';
import type { Platform } from '../image/platform.js';

export interface EngineDeps {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}

export interface ReadFromEngine {
  /** The image ID: the sha256 of its config's bytes. */
  id: string;
  img: ReadImage;
  spool: ContentSpool;
}

export interface FoundImage {
  /** As the user gave it. */
  image: string;
  /** An image in the engine, as the engine describes it. */
  inspect?: ImageInspect;
  /** An image in a file or OCI layout, read without the engine. */
  file?: FileSource;
  /** An image in a registry, its manifest already fetched: read without the engine. */
  source?: ImageSource;
  /** --platform, for a file input: the image of its index to read, and what its config must say. */
  platform?: Platform;
}

/**
 * Find an image by the references `slim build` accepts. Only an image in the engine needs the
 * engine; files, OCI layouts and registry images are read directly (readFromEngine), checked as a
 * load would check them. A registry image's manifest is fetched here, so a wrong name fails at once.
 */
export async function findImage(image: string, { runtime, log, scope }: EngineDeps, registry: RegistryInputOptions = {}): Promise<FoundImage> {
  const source = parseSourceRef(image);
  if (source.kind === 'registry') {
    const opener = registryOpener({ ...registry, signal: scope.signal, onRetry: (what, n, why) => log.warn(`${what} failed (${why}); retry ${n}`) });
    return { image, source: await openSource(source, { runtime, scope, registry: opener }) };
  }
  if (source.kind !== 'engine') {
    await mustExist(source.kind === 'oci' ? source.dir : source.file);
    return { image, file: source, ...(registry.platform ? { platform: registry.platform } : {}) };
  }
  await runtime.ping();
  const inspect = await runtime.inspectImage(source.ref);
  // One line: scripts read the error, and there is nothing more to say than where to look.
  if (!inspect) throw new SlimError(`image ${source.ref} is not in the engine (docker image ls lists what is there)`, { code: 'IMAGE_NOT_FOUND' });
  checkEnginePlatform(inspect, registry.platform, source.ref);
  return { image, inspect };
}

/** Read an image the way `slim build` does (docker save, the file itself, or the registry), streamed into a spool in a temp dir the scope removes. */
export async function readFromEngine(found: FoundImage, { runtime, log, scope }: EngineDeps, opts: { keepLayers?: boolean } = {}): Promise<ReadFromEngine> {
  const { image, inspect, file } = found;
  if (!file && !inspect && !found.source) throw new InternalError(`${image}: found neither in the engine nor in a file`);
  const spool = await ContentSpool.create(await scope.tempDir());
  scope.defer('content spool', () => spool.close());
  log.step(inspect ? `reading ${image} (${inspect.id.slice(7, 19)})` : `reading ${image}`);
  const source = found.source ?? (await openSource(file ?? { kind: 'engine', ref: image }, { runtime, scope, ...(inspect ? { inspect } : {}), ...(found.platform ? { platform: found.platform } : {}) }));
  try {
    const img = await readImage(source, spool, { ...opts, signal: scope.signal });
    // The ID of a file input is the sha256 of its config's bytes, as the engine would give it.
    return { id: inspect?.id ?? img.configDigest, img, spool };
  } finally {
    await source.close?.();
  }
}

const CHUNK = 1 << 20;

/** Whether two files of equal size hold different bytes, compared a chunk at a time. */
export async function bytesDiffer(a: FileEntry & { kind: 'file' }, ra: ContentReader, b: FileEntry & { kind: 'file' }, rb: ContentReader): Promise<boolean> {
  if (a.size !== b.size) return true;
  for (let start = 0; start < a.size; start += CHUNK) {
    const [x, y] = await Promise.all([ra.read(a, { start, length: CHUNK }), rb.read(b, { start, length: CHUNK })]);
    if (!x.equals(y)) return true;
  }
  return false;
}

/** The paths that are regular files of the same size in both images but hold different bytes. */
export async function sameSizeButDifferent(a: FileIndex, ra: ContentReader, b: FileIndex, rb: ContentReader): Promise<Set<ImagePath>> {
  const out = new Set<ImagePath>();
  for (const ea of a.values()) {
    const eb = b.get(ea.path);
    if (ea.kind !== 'file' || eb?.kind !== 'file' || ea.size !== eb.size) continue;
    if (await bytesDiffer(ea, ra, eb, rb)) out.add(ea.path);
  }
  return out;
}
