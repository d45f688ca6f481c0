import { createGzip, constants as zlib } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ContentReader } from '../sources/content-spool.js';
import type { PlanEntry, PackPlan } from './plan.js';
import { HashingStream } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { tarStream, type TarHeader, type TarItem } from '../tar/tar-writer.js';
import type { FileEntry } from '../rootfs/entry.js';
import { counting, progressBar } from '../progress.js';

export interface WrittenLayer {
  path: string;
  diffId: Digest;
  digest: Digest;
  size: number;
  uncompressedSize: number;
}

/**
 * Write the plan as one gzip'd tar, hashing the tar (diff ID) and the gzip (digest) as it goes.
 * Deterministic: entries in plan order, fixed gzip level and header (Node's gzip writes no
 * name and mtime 0), so the same plan gives the same digest on every run and machine.
 */
export async function writeLayer(plan: PackPlan, content: ContentReader, outPath: string, signal: AbortSignal): Promise<WrittenLayer> {
  const tarHash = new HashingStream();
  const gzHash = new HashingStream();
  const items = (function* () {
    for (const pe of plan.entries) {
      signal.throwIfAborted();
      yield toItem(pe, content);
    }
  })();
  const total = plan.entries.reduce((n, pe) => n + (pe.entry.kind === 'file' && pe.linkTo === undefined ? pe.entry.size : 0), 0);
  await pipeline(tarStream(items), counting(progressBar('packing', total)), tarHash, createGzip({ level: 6, memLevel: 8, strategy: zlib.Z_DEFAULT_STRATEGY }), gzHash, createWriteStream(outPath), { signal });
  return { path: outPath, diffId: tarHash.digest.digest, uncompressedSize: tarHash.digest.size, ...gzHash.digest };
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
