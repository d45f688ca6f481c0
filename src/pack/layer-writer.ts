import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ContentReader } from '../sources/content-spool.js';
import type { PlanEntry, PackPlan } from './plan.js';
import { HashingStream } from '../image/digest.js';
import { MediaType, type Digest } from '../image/types.js';
import { GzipBlocks } from './gzip-blocks.js';
import { tarStream, type TarHeader, type TarItem } from '../tar/tar-writer.js';
import type { FileEntry } from '../rootfs/entry.js';
import { counting, progressBar } from '../progress.js';

export interface WrittenLayer {
  path: string;
  /** A plain tar for the engine, which takes one; gzip for what travels (registries, OCI layouts and archives). */
  mediaType: typeof MediaType.ociLayer | typeof MediaType.ociLayerGzip;
  diffId: Digest;
  digest: Digest;
  size: number;
  uncompressedSize: number;
}

export type LayerCompression = 'gzip' | 'none';

/**
 * Write the plan as one tar, plain or gzip'd, hashing the tar (diff ID) and the blob (digest) as
 * it goes. Deterministic: entries in plan order, gzip in fixed blocks at a fixed level (Node's gzip
 * writes no name and mtime 0), so the same plan gives the same digest on every run and machine.
 */
export async function writeLayer(plan: PackPlan, content: ContentReader, outPath: string, signal: AbortSignal, compression: LayerCompression = 'gzip'): Promise<WrittenLayer> {
  const tarHash = new HashingStream();
  const items = (function* () {
    for (const pe of plan.entries) {
      signal.throwIfAborted();
      yield toItem(pe, content);
    }
  })();
  const total = plan.entries.reduce((n, pe) => n + (pe.entry.kind === 'file' && pe.linkTo === undefined ? pe.entry.size : 0), 0);
  if (compression === 'none') {
    await pipeline(tarStream(items), counting(progressBar('packing', total)), tarHash, createWriteStream(outPath), { signal });
    return { path: outPath, mediaType: MediaType.ociLayer, diffId: tarHash.digest.digest, uncompressedSize: tarHash.digest.size, ...tarHash.digest };
  }
  const gzHash = new HashingStream();
  await pipeline(tarStream(items), counting(progressBar('packing', total)), tarHash, new GzipBlocks(), gzHash, createWriteStream(outPath), { signal });
  return { path: outPath, mediaType: MediaType.ociLayerGzip, diffId: tarHash.digest.digest, uncompressedSize: tarHash.digest.size, ...gzHash.digest };
}

/** The gzip'd copy of a plain layer, for outputs that travel; a gzip'd layer is returned as it is. */
export async function gzipLayer(layer: WrittenLayer, outPath: string, signal: AbortSignal): Promise<WrittenLayer> {
  if (layer.mediaType === MediaType.ociLayerGzip) return layer;
  const gzHash = new HashingStream();
  await pipeline(createReadStream(layer.path), new GzipBlocks(), gzHash, createWriteStream(outPath), { signal });
  return { ...layer, path: outPath, mediaType: MediaType.ociLayerGzip, ...gzHash.digest };
}

const KIND: Record<Exclude<FileEntry['kind'], 'char' | 'block'>, TarHeader['type']> = { file: 'file', dir: 'directory', symlink: 'symlink', fifo: 'fifo' };

/** One plan entry as a tar item: metadata from the original, bytes from the spool. */
function toItem(pe: PlanEntry, content: ContentReader): TarItem {
  const e = pe.entry;
  const header: TarHeader = {
    name: e.path.slice(1),
    type: pe.linkTo !== undefined ? 'link' : e.kind === 'char' ? 'character-device' : e.kind === 'block' ? 'block-device' : KIND[e.kind],
    mode: e.meta.mode,
    uid: e.meta.uid,
    gid: e.meta.gid,
    mtime: e.meta.mtime,
    ...(e.meta.uname ? { uname: e.meta.uname } : {}),
    ...(e.meta.gname ? { gname: e.meta.gname } : {}),
    ...(e.meta.xattrs ? { xattrs: e.meta.xattrs } : {}),
  };
  if (pe.linkTo !== undefined) return { header: { ...header, linkname: pe.linkTo.slice(1) } };
  switch (e.kind) {
    case 'symlink':
      return { header: { ...header, linkname: e.target } };
    case 'char':
    case 'block':
      return { header: { ...header, devmajor: e.major, devminor: e.minor } };
    case 'file':
      return { header: { ...header, size: e.size }, body: () => content.stream(e) };
    default:
      return { header };
  }
}
