import { InternalError, SlimError } from '../errors.js';
import type { Digest } from '../image/types.js';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { ContentSpool } from '../sources/content-spool.js';
import type { ImageSource } from '../sources/image-source.js';
import { loadSource } from '../sources/load-source.js';
import { openSource } from '../sources/open-source.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import { parseSourceRef } from '../sources/source-ref.js';
import type { BuildDeps, OpenedImage } from './build-types.js';

/**
 * Read the input of a build into a spool. An image in the engine is saved and read; a file input
 * (docker-archive, OCI layout or archive) is read from the file itself and, at the same time,
 * loaded into the engine, where its containers run: `image` may be either, as the user gave it.
 */
export async function openImage(image: string, { runtime, log, scope }: BuildDeps): Promise<OpenedImage> {
  const ref = parseSourceRef(image);
  await runtime.ping();
  let found: ImageInspect | undefined;
  if (ref.kind === 'engine') {
    found = await runtime.inspectImage(ref.ref);
    if (!found) {
      throw new SlimError(`image ${ref.ref} is not in the engine`, { code: 'IMAGE_NOT_FOUND', hint: `build or pull it first (docker image ls lists what is there)` });
    }
    log.step(`reading ${ref.ref} (${found.id.slice(7, 19)})`);
  } else {
    log.step(`reading ${image}, and loading it into the engine, where it is probed and verified`);
  }
  const t = Date.now();
  const tmp = await scope.tempDir();
  const spool = await ContentSpool.create(tmp);
  scope.defer('content spool', () => spool.close());
  const source = await openSource(ref, { runtime, scope, ...(found ? { inspect: found } : {}) });
  const { id, img } = await readThenClose(source, async () => (found ? { id: found.id, img: await readImage(source, spool, { signal: scope.signal }) } : readAndLoad(source, spool, runtime, scope)));
  const inspect = found ?? (await runtime.inspectImage(id));
  if (!inspect) throw new InternalError(`${image}: the engine has no image ${id} after loading it`);
  const readSeconds = (Date.now() - t) / 1000;
  log.info(`${img.index.stats().files} files in ${img.layerCount} layers, read in ${readSeconds.toFixed(1)}s`);
  return { inspect, img, spool, tmp, readSeconds };
}

async function readThenClose<T>(source: ImageSource, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await source.close?.();
  }
}

/**
 * Both walks of one source at once: slim's read into the spool and the engine's load, each
 * checking what it streams. The first failure is the one reported, and it stops the other.
 */
async function readAndLoad(source: ImageSource, spool: ContentSpool, runtime: Runtime, scope: Scope): Promise<{ id: Digest; img: ReadImage }> {
  const failures: unknown[] = [];
  const stop = new AbortController();
  const signal = AbortSignal.any([scope.signal, stop.signal]);
  const fail = (err: unknown): never => {
    failures.push(err);
    stop.abort(err);
    throw err;
  };
  const [loaded, read] = await Promise.allSettled([loadSource(source, runtime, scope, signal).catch(fail), readImage(source, spool, { signal }).catch(fail)]);
  if (loaded.status === 'rejected' || read.status === 'rejected') throw failures[0];
  if (read.value.configDigest !== loaded.value) throw new InternalError(`${source.label}: read config ${read.value.configDigest}, loaded ${loaded.value}`);
  return { id: loaded.value, img: read.value };
}
