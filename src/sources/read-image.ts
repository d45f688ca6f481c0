import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest, ImageConfig } from '../image/types.js';
import { counting, progressBar } from '../progress.js';
import { flatten, type TarEntry } from '../rootfs/flatten.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentSpool } from './content-spool.js';
import { checkDiffIds, flattenChecked, type ReadLayer } from './image-checks.js';
import type { ImageSource } from './image-source.js';
import { scanLayerTar } from './layer-tar.js';
import type { Compression } from './peek.js';

/** An image read into memory as metadata only: its config, and its flattened filesystem whose bytes sit in the spool. */
export interface ReadImage {
  config: ImageConfig;
  configRaw: Buffer;
  configDigest: Digest;
  layerCount: number;
  index: FileIndex;
  /** Each layer's own entries, base first; only when asked for (keepLayers), as it holds every header twice. */
  layers?: LayerRead[];
}

/** One layer as it came out of the source. */
export interface LayerRead {
  entries: TarEntry[];
  /** The size of the layer blob, as stored (plain tar, gzip or zstd). */
  archiveBytes: number;
  compression: Compression;
}

/**
 * Read an image: its config, then each layer in order, streamed through the layer reader into
 * the spool, and flattened. An untrusted source (a file input) also gets the checks a load into
 * the engine gets (load-source.ts): its blobs' digests as they stream, each layer's uncompressed
 * digest against rootfs.diff_ids, slim's entry rules, with the same messages.
 */
export async function readImage(source: ImageSource, spool: ContentSpool, opts: { keepLayers?: boolean; signal?: AbortSignal } = {}): Promise<ReadImage> {
  const { raw, digest, config } = await source.config();
  const blobs = await source.layers();
  const bar = progressBar('reading', blobs.reduce((n, b) => n + b.size, 0));
  const read: (LayerRead & ReadLayer)[] = [];
  try {
    for (const [i, blob] of blobs.entries()) {
      const counted = counting(bar, { finish: false });
      // pipeline() carries a failed check or read on to the layer reader, and stops the read when the reader stops.
      pipeline(await blob.open(opts.signal), counted).catch(() => {});
      const scan = await scanLayerTar(counted as Readable, i, spool, `layer ${blob.name} of ${source.label}`, { diffId: source.untrusted });
      read.push({ name: blob.name, ...(scan.diffId ? { diffId: scan.diffId } : {}), entries: scan.entries, archiveBytes: blob.size, compression: scan.compression });
    }
  } catch (err) {
    // A stopped read fails with whatever stopped it, not with what the cut stream looked like to the layer reader.
    throw opts.signal?.aborted ? opts.signal.reason : err;
  } finally {
    bar.done();
  }
  if (source.untrusted) checkDiffIds(config, read, source.label);
  const index = source.untrusted ? flattenChecked(read, source.label) : flatten(read.map((l) => l.entries));
  return {
    config,
    configRaw: raw,
    configDigest: digest,
    layerCount: read.length,
    index,
    ...(opts.keepLayers ? { layers: read.map(({ entries, archiveBytes, compression }) => ({ entries, archiveBytes, compression })) } : {}),
  };
}
