import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { counting, progressBar } from '../progress.js';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { dockerArchiveSource } from './archive-source.js';
import type { ImageSource } from './image-source.js';

/**
 * An image in the engine: `docker save` into a docker-archive in a temp dir of the scope, read as
 * it is written (archive-source.ts), then served from that file. Saved by its ID when it was
 * looked up (`inspect`), so a tag moved meanwhile does not change what is read.
 */
export async function engineSource(ref: string, runtime: Runtime, scope: Scope, inspect?: ImageInspect): Promise<ImageSource> {
  const dir = await scope.tempDir('slim-save-');
  const file = join(dir, 'image.tar');
  const fh = await open(file, 'w');
  try {
    const counted = counting(progressBar('saving', inspect?.size ?? 0));
    // pipeline() carries an engine error or an abort on to the scan instead of leaving it waiting.
    pipeline(await runtime.saveImage(inspect?.id ?? ref, scope.signal), counted).catch(() => {});
    const source = await dockerArchiveSource(file, ref, { untrusted: false, layout: {} }, { bytes: counted, to: fh });
    return { ...source, close: () => rm(dir, { recursive: true, force: true }) };
  } finally {
    await fh.close();
  }
}
