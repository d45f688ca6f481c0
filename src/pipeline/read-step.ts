import { pipeline } from 'node:stream/promises';
import { SlimError } from '../errors.js';
import { counting, progressBar } from '../progress.js';
import { ContentSpool } from '../sources/content-spool.js';
import { readImageArchive } from '../sources/image-archive.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { loadSource } from '../sources/load-source.js';
import type { BuildDeps, OpenedImage } from './build-types.js';

export async function openImage(ref: string, { runtime, log, scope }: BuildDeps): Promise<OpenedImage> {
  await runtime.ping();
  const inspect = await runtime.inspectImage(ref);
  if (!inspect) {
    throw new SlimError(`image ${ref} is not in the engine`, { code: 'IMAGE_NOT_FOUND', hint: `build or pull it first (docker image ls lists what is there)` });
  }
  log.step(`reading ${ref} (${inspect.id.slice(7, 19)})`);
  const t = Date.now();
  const tmp = await scope.tempDir();
  const spool = await ContentSpool.create(tmp);
  scope.defer('content spool', () => spool.close());
  const counted = counting(progressBar('reading', inspect.size));
  // pipeline() carries an engine error or an abort on to the reader instead of leaving it waiting.
  pipeline(await runtime.saveImage(inspect.id, scope.signal), counted).catch(() => {});
  const img = await readImageArchive(counted, spool, ref);
  const readSeconds = (Date.now() - t) / 1000;
  log.info(`${img.index.stats().files} files in ${img.layerCount} layers, read in ${readSeconds.toFixed(1)}s`);
  return { inspect, img, spool, tmp, readSeconds };
}


export async function engineRefFor(image: string, { runtime, log, scope }: BuildDeps): Promise<string> {
  const source = parseSourceRef(image);
  if (source.kind === 'engine') return source.ref;
  await runtime.ping();
  log.step(`loading ${image} into the engine, where it is probed and verified`);
  return loadSource(source, runtime, scope);
}
