import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { ContentSpool } from '../../src/sources/content-spool.js';
import { readLayerTar } from '../../src/sources/layer-tar.js';
import { flatten, type TarEntry } from '../../src/rootfs/flatten.js';
import type { FileIndex } from '../../src/rootfs/file-index.js';

export interface Spec {
  path: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  pax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

/** A layer tarball made in the test with tar-stream. */
export async function mkLayer(specs: Spec[], opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const s of specs) {
    const type = s.type ?? (s.body !== undefined ? 'file' : 'directory');
    const body = s.body === undefined ? undefined : Buffer.isBuffer(s.body) ? s.body : Buffer.from(s.body);
    const header = {
      name: s.path,
      type,
      mode: s.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: s.uid ?? 0,
      gid: s.gid ?? 0,
      mtime: new Date((s.mtime ?? 1_700_000_000) * 1000),
      ...(s.linkname !== undefined ? { linkname: s.linkname } : {}),
      ...(s.pax ? { pax: s.pax } : {}),
      ...(s.devmajor !== undefined ? { devmajor: s.devmajor, devminor: s.devminor ?? 0 } : {}),
      size: body?.length ?? 0,
    };
    await new Promise<void>((resolve, reject) => {
      if (body) pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  const buf = Buffer.concat(chunks);
  return opts.gzip ? gzipSync(buf) : buf;
}

/** Read layer tarballs through the real reader into a spool in a temp dir. */
export async function readLayers(layers: Buffer[]): Promise<{ index: FileIndex; spool: ContentSpool; entries: TarEntry[][]; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'slim-test-'));
  const spool = await ContentSpool.create(dir);
  const cleanup = async () => {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const entries: TarEntry[][] = [];
    for (const [i, l] of layers.entries()) entries.push(await readLayerTar(Readable.from([l]), i, spool, `layer ${i}`));
    return { index: flatten(entries), spool, entries, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A plain tar of these files, made in memory (archives and layouts built by the tests). */
export async function tarOf(files: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const f of files) await new Promise<void>((res, rej) => pack.entry({ name: f.name, size: f.body.length }, f.body, (e) => (e ? rej(e) : res())));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
