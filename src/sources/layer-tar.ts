import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { byteExact, type PaxRecords } from '../tar/pax.js';
import type { TarEntry } from '../rootfs/flatten.js';
import type { ContentSpool } from './content-spool.js';
import { HashingStream } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { compressionOf, peek, type Compression } from './peek.js';
import { zstdDecompress } from './zstd.js';
import { SlimError, UnsafeImageError } from '../errors.js';

const typeMap: Record<string, TarEntry['type']> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'link',
  symlink: 'symlink',
  directory: 'directory',
  'character-device': 'character-device',
  'block-device': 'block-device',
  fifo: 'fifo',
};

/** One layer as read: its entries, how it was stored, and (when asked) the sha256 of its uncompressed bytes, its diff ID. */
export interface LayerScan {
  entries: TarEntry[];
  compression: Compression;
  diffId?: Digest;
}

/**
 * Read one layer (plain, gzip or zstd tar), streaming: headers are returned, file bytes go to the spool.
 * Names, PAX records included, are read as byte strings (latin1): names that are not UTF-8 and
 * binary xattrs (security.capability) survive unchanged.
 */
export async function readLayerTar(input: Readable, layer: number, spool: Pick<ContentSpool, 'append'>, label: string): Promise<TarEntry[]> {
  return (await scanLayerTar(input, layer, spool, label)).entries;
}

/** readLayerTar, also telling the compression and, with `diffId`, hashing the uncompressed bytes as they pass. */
export async function scanLayerTar(input: Readable, layer: number, spool: Pick<ContentSpool, 'append'>, label: string, opts: { diffId?: boolean } = {}): Promise<LayerScan> {
  const { head, stream } = await peek(input, 4);
  const compression = compressionOf(head);
  const decompress = compression === 'gzip' ? createGunzip() : compression === 'zstd' ? zstdDecompress(label) : undefined;
  const hashing = opts.diffId ? new HashingStream() : undefined;
  const extract = byteExact();
  const feeding = pipeline([stream, ...(decompress ? [decompress] : []), ...(hashing ? [hashing] : []), extract]);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  const entries: TarEntry[] = [];
  try {
    for await (const item of extract) {
      const h = item.header;
      const type = typeMap[h.type] ?? 'other';
      const pax = (h as { pax?: PaxRecords }).pax ?? {};
      // tar-stream already took PAX path and linkpath (as bytes) into the header.
      const name = h.name;
      const linkname = h.linkname ?? undefined;
      const e: TarEntry = {
        name,
        type,
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        size: h.size ?? 0,
        ...(linkname ? { linkname } : {}),
        ...(h.devmajor ? { devmajor: h.devmajor } : {}),
        ...(h.devminor ? { devminor: h.devminor } : {}),
        ...(h.uname ? { uname: h.uname } : {}),
        ...(h.gname ? { gname: h.gname } : {}),
      };
      const xattrs = paxXattrs(pax);
      if (xattrs) e.xattrs = xattrs;
      if (type === 'file') e.at = await spool.append(layer, item as AsyncIterable<Buffer>);
      else item.resume();
      if (type === 'other') continue;
      entries.push(e);
    }
    await feeding;
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw new UnsafeImageError(`${label} is not a readable tar archive: ${(err as Error).message}`);
  }
  return { entries, compression, ...(hashing ? { diffId: hashing.digest.digest } : {}) };
}

function paxXattrs(pax: PaxRecords): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(pax)) if (k.startsWith('SCHILY.xattr.')) (out ??= {})[k.slice('SCHILY.xattr.'.length)] = v;
  return out;
}
