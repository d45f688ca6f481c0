import { createGzip, constants as zlib } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

type TarHeader = Partial<tar.Header> & { name: string };
import type { ContentReader } from '../sources/content-spool.js';
import type { PlanEntry, PackPlan } from './plan.js';
import { HashingStream } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { displayPath } from '../rootfs/entry.js';
import { SlimError } from '../errors.js';

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
  const pack = tar.pack();
  const tarHash = new HashingStream();
  const gzHash = new HashingStream();
  const writing = pipeline(pack, tarHash, createGzip({ level: 6, memLevel: 8, strategy: zlib.Z_DEFAULT_STRATEGY }), gzHash, createWriteStream(outPath), { signal });
  try {
    for (const pe of plan.entries) {
      signal.throwIfAborted();
      await addEntry(pack, pe, content);
    }
    pack.finalize();
    await writing;
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => {});
    throw err;
  }
  return { path: outPath, diffId: tarHash.digest.digest, uncompressedSize: tarHash.digest.size, ...gzHash.digest };
}

function tarName(p: string): string {
  // tar-stream writes names as UTF-8 (PAX when needed); byte-string paths go back to text here.
  const bytes = Buffer.from(p.slice(1), 'latin1');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new SlimError(`cannot write "${displayPath(p)}": names that are not UTF-8 are not supported in the output yet`, { code: 'UNSUPPORTED_NAME' });
  }
  return text;
}

async function addEntry(pack: tar.Pack, pe: PlanEntry, content: ContentReader): Promise<void> {
  const e = pe.entry;
  const base: TarHeader = {
    name: tarName(e.path),
    mode: e.meta.mode,
    uid: e.meta.uid,
    gid: e.meta.gid,
    mtime: new Date(e.meta.mtime * 1000),
    ...(e.meta.uname ? { uname: e.meta.uname } : {}),
    ...(e.meta.gname ? { gname: e.meta.gname } : {}),
    ...(e.meta.xattrs ? { pax: Object.fromEntries(Object.entries(e.meta.xattrs).map(([k, v]) => [`SCHILY.xattr.${k}`, Buffer.from(v, 'latin1').toString('utf8')])) } : {}),
  };
  if (pe.linkTo !== undefined) {
    return add(pack, { ...base, type: 'link', linkname: tarName(pe.linkTo), size: 0 });
  }
  switch (e.kind) {
    case 'dir':
      return add(pack, { ...base, type: 'directory', size: 0 });
    case 'symlink':
      return add(pack, { ...base, type: 'symlink', linkname: Buffer.from(e.target, 'latin1').toString('utf8'), size: 0 });
    case 'fifo':
      return add(pack, { ...base, type: 'fifo', size: 0 });
    case 'char':
    case 'block':
      return add(pack, { ...base, type: e.kind === 'char' ? 'character-device' : 'block-device', devmajor: e.major, devminor: e.minor, size: 0 });
    case 'file': {
      const sink = pack.entry({ ...base, type: 'file', size: e.size });
      await pipeline(content.stream(e), sink);
      return;
    }
  }
}

function add(pack: tar.Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}
