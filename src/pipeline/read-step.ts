import { InternalError, SlimError } from '../errors.js';
import { registryOpener, type RegistryInputOptions } from '../registry/registry-source.js';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { ContentSpool } from '../sources/content-spool.js';
import type { ImageSource } from '../sources/image-source.js';
import { loadSource } from '../sources/load-source.js';
import { openSource } from '../sources/open-source.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { checkEnginePlatform } from '../sources/platform-check.js';
import type { BuildDeps, OpenedImage } from './build-types.js';

/** A read under way: the image is in the engine (and can run) before slim has read all of it. */
export interface Reading {
  /** At once for an image in the engine; once loaded for a file input. */
  inspect: Promise<ImageInspect>;
  opened: Promise<OpenedImage>;
}

/**
 * Start reading the input of a build into a spool. An image in the engine is saved and read; a
 * file input (docker-archive, OCI layout or archive) or a registry input is read from where it is
 * and, at the same time, loaded into the engine, where its containers run: `image` may be any, as
 * the user gave it.
 */
export async function startReading(image: string, { runtime, log, scope }: BuildDeps, input: RegistryInputOptions = {}): Promise<Reading> {
  const ref = parseSourceRef(image);
  const daemonless = (await runtime.ping()).flavour === 'oci';
  let found: ImageInspect | undefined;
  if (ref.kind === 'engine') {
    found = await runtime.inspectImage(ref.ref);
    if (!found) {
      throw new SlimError(`image ${ref.ref} is not in the engine`, { code: 'IMAGE_NOT_FOUND', hint: `build or pull it first (docker image ls lists what is there)` });
    }
    checkEnginePlatform(found, input.platform, ref.ref);
    log.step(`reading ${ref.ref} (${found.id.slice(7, 19)})`);
  } else {
    log.step(`reading ${image}, and loading it into ${daemonless ? "the run's image store, from which its containers are unpacked" : 'the engine'}, where it is probed and verified`);
  }
  const t = Date.now();
  const tmp = await scope.tempDir();
  const spool = await ContentSpool.create(tmp);
  scope.defer('content spool', () => spool.close());
  // Not awaited here: saving an engine image is most of its read, and the probe need not wait for it.
  const registry = registryOpener({ ...input, signal: scope.signal, onRetry: (what, n, why) => log.warn(`${what} failed (${why}); retry ${n}`) });
  const sourcing = openSource(ref, { runtime, scope, registry, ...(found ? { inspect: found } : {}), ...(input.platform ? { platform: input.platform } : {}) });
  const walks = sourcing.then((source) => ({ source, ...(found ? { loaded: Promise.resolve(found), read: readImage(source, spool, { signal: scope.signal }) } : readAndLoad(source, spool, runtime, scope)) }));
  const both = { loaded: found ? Promise.resolve(found) : walks.then((w) => w.loaded), read: walks.then((w) => w.read.finally(() => w.source.close?.())) };
  const read = both.read;
  const opened = Promise.all([both.loaded, read]).then(([inspect, img]): OpenedImage => {
    const readSeconds = (Date.now() - t) / 1000;
    log.info(`${img.index.stats().files} files in ${img.layerCount} layers, read in ${readSeconds.toFixed(1)}s`);
    return { inspect, img, spool, tmp, readSeconds };
  });
  // Awaited by the caller, maybe one after the other: neither is left unhandled meanwhile.
  both.loaded.catch(() => {});
  read.catch(() => {});
  opened.catch(() => {});
  return { inspect: both.loaded, opened };
}

/** Read the input of a build into a spool (see startReading). */
export async function openImage(image: string, deps: BuildDeps, input: RegistryInputOptions = {}): Promise<OpenedImage> {
  return (await startReading(image, deps, input)).opened;
}

/**
 * Both walks of one source at once: slim's read into the spool and the engine's load, each
 * checking what it streams. The first failure is the one reported by both, and it stops the other.
 */
function readAndLoad(source: ImageSource, spool: ContentSpool, runtime: Runtime, scope: Scope): { loaded: Promise<ImageInspect>; read: Promise<ReadImage> } {
  const failures: unknown[] = [];
  const stop = new AbortController();
  const signal = AbortSignal.any([scope.signal, stop.signal]);
  const fail = (err: unknown): never => {
    failures.push(err);
    stop.abort(err);
    throw failures[0];
  };
  const id = loadSource(source, runtime, scope, signal).catch(fail);
  const read = readImage(source, spool, { signal }).catch(fail);
  const loaded = id.then(async (loadedId) => {
    const inspect = await runtime.inspectImage(loadedId);
    if (!inspect) throw new InternalError(`${source.label}: the engine has no image ${loadedId} after loading it`);
    return inspect;
  });
  const checked = Promise.all([id, read]).then(([loadedId, img]) => {
    if (img.configDigest !== loadedId) throw new InternalError(`${source.label}: read config ${img.configDigest}, loaded ${loadedId}`);
    return img;
  });
  id.catch(() => {});
  read.catch(() => {});
  return { loaded, read: checked };
}
