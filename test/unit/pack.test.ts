import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import { Selection } from '../../src/closure/selection.js';
import { planPack } from '../../src/pack/plan.js';
import { gzipLayer, writeLayer } from '../../src/pack/layer-writer.js';
import { buildImage } from '../../src/pack/image-builder.js';
import type { ImageConfig } from '../../src/image/types.js';
import type { FileIndex } from '../../src/rootfs/file-index.js';
import { sha256 } from '../../src/image/digest.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const source: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: { Entrypoint: ['/app'], Env: ['PATH=/bin'], User: '1000', Labels: { team: 'x' }, StopSignal: 'SIGQUIT' },
  rootfs: { type: 'layers', diff_ids: [] },
};
const provenance = { sourceName: 'app:1', sourceDigest: 'sha256:' + 'a'.repeat(64), slimVersion: '0.0.0', probe: 'strace' };

const tree: Spec[] = [
  { path: 'bin/' },
  { path: 'bin/app', body: 'binary', mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000 },
  { path: 'bin/app-link', type: 'link', linkname: 'bin/app' },
  { path: 'data/', uid: 1000, gid: 1000, mode: 0o750 },
  { path: 'data/seed', body: 'seed', uid: 1000, gid: 1000, mode: 0o640 },
  { path: 'etc/' },
  { path: 'etc/conf', body: 'x=1' },
  { path: 'sh', type: 'symlink', linkname: 'bin/app' },
  { path: 'unused/' },
  { path: 'unused/big', body: 'z'.repeat(10_000) },
];

async function setup(specs: Spec[]) {
  const r = await readLayers([await mkLayer(specs)]);
  cleanups.push(r.cleanup);
  const dir = await mkdtemp(join(tmpdir(), 'slim-pack-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return { ...r, dir };
}

function selectAll(index: FileIndex, except: string[] = []): Selection {
  const s = new Selection();
  for (const e of index.sorted()) if (!except.some((x) => e.path.startsWith(x))) s.add(e.path, { why: 'traced' });
  return s;
}

describe('pack', () => {
  it('writes a layer that reads back as the same tree, metadata and bytes included', async () => {
    const { index, spool, dir } = await setup(tree);
    const plan = planPack(index, selectAll(index, ['/unused']), source, { provenance });
    const layer = await writeLayer(plan, spool, join(dir, 'l.tgz'), new AbortController().signal);
    const back = await readLayers([await readFile(layer.path)]);
    cleanups.push(back.cleanup);
    const describe = (i: FileIndex) => i.sorted().map((e) => ({ path: e.path, kind: e.kind, mode: e.meta.mode, uid: e.meta.uid, gid: e.meta.gid, mtime: e.meta.mtime, ...(e.kind === 'symlink' ? { target: e.target } : {}) }));
    const expected = describe(index).filter((e) => !e.path.startsWith('/unused'));
    expect(describe(back.index)).toEqual(expected);
    for (const e of back.index.sorted()) {
      if (e.kind !== 'file') continue;
      const o = index.get(e.path)!;
      expect((await back.spool.read(e)).equals(await spool.read(o as typeof e))).toBe(true);
    }
    // Hard links stay hard links: one inode for both names.
    const a = back.index.get('/bin/app') as { inode: number };
    const b = back.index.get('/bin/app-link') as { inode: number };
    expect(a.inode).toBe(b.inode);
  });

  it('the digest depends only on the input: same plan, same bytes', async () => {
    const { index, spool, dir } = await setup(tree);
    const plan = planPack(index, selectAll(index), source, { provenance, epoch: 1_700_000_000 });
    const l1 = await writeLayer(plan, spool, join(dir, 'a.tgz'), new AbortController().signal);
    const l2 = await writeLayer(planPack(index, selectAll(index), source, { provenance, epoch: 1_700_000_000 }), spool, join(dir, 'b.tgz'), new AbortController().signal);
    expect(l1.digest).toBe(l2.digest);
    expect(l1.diffId).toBe(l2.diffId);
    expect(sha256(await readFile(l1.path))).toBe(l1.digest);
    const i1 = buildImage(plan, l1);
    const i2 = buildImage(plan, l2);
    expect(i1.manifestDigest).toBe(i2.manifestDigest);
    expect(i1.config.created).toBe('2023-11-14T22:13:20.000Z');
  });

  it('diff ID is the digest of the uncompressed tar', async () => {
    const { index, spool, dir } = await setup(tree);
    const layer = await writeLayer(planPack(index, selectAll(index), source, { provenance }), spool, join(dir, 'a.tgz'), new AbortController().signal);
    const { createGunzip } = await import('node:zlib');
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    for await (const c of createReadStream(layer.path).pipe(createGunzip())) h.update(c as Buffer);
    expect(`sha256:${h.digest('hex')}`).toBe(layer.diffId);
  });

  it('carries the config over and records provenance under io.slim keys', async () => {
    const { index } = await setup(tree);
    const plan = planPack(index, selectAll(index), source, { provenance });
    expect(plan.config.config).toMatchObject({ Entrypoint: ['/app'], Env: ['PATH=/bin'], User: '1000', StopSignal: 'SIGQUIT' });
    expect(plan.config.config!.Labels).toEqual({
      team: 'x',
      'io.slim.source.name': 'app:1',
      'io.slim.source.digest': provenance.sourceDigest,
      'io.slim.version': '0.0.0',
      'io.slim.probe': 'strace',
    });
    expect(plan.config.created).toBe(source.created);
    expect(Object.keys(plan.annotations).some((k) => k.startsWith('org.opencontainers.image.base'))).toBe(false);
  });

  it('writes a lone hard link as a plain file when its partner is not kept', async () => {
    const { index, spool, dir } = await setup(tree);
    const sel = new Selection();
    for (const p of ['/bin', '/bin/app-link']) sel.add(p, { why: 'traced' });
    const layer = await writeLayer(planPack(index, sel, source, { provenance }), spool, join(dir, 'a.tgz'), new AbortController().signal);
    const back = await readLayers([await readFile(layer.path)]);
    cleanups.push(back.cleanup);
    const e = back.index.get('/bin/app-link')!;
    expect(e.kind).toBe('file');
    expect((await back.spool.read(e as Extract<typeof e, { kind: 'file' }>)).toString()).toBe('binary');
  });

  it('a plain layer for the engine, gzip only for what travels: one tar, the same image ID, and the same gzip either way', async () => {
    const { index, spool, dir } = await setup(tree);
    const plan = planPack(index, selectAll(index), source, { provenance, epoch: 1_700_000_000 });
    const plain = await writeLayer(plan, spool, join(dir, 'p.tar'), new AbortController().signal, 'none');
    expect(plain.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(plain.digest).toBe(plain.diffId);
    expect(plain.size).toBe(plain.uncompressedSize);
    expect(sha256(await readFile(plain.path))).toBe(plain.diffId);
    const later = await gzipLayer(plain, join(dir, 'p.tar.gz'), new AbortController().signal);
    const direct = await writeLayer(plan, spool, join(dir, 'd.tar.gz'), new AbortController().signal);
    expect(later).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: plain.diffId, digest: direct.digest, size: direct.size });
    expect(sha256(await readFile(later.path))).toBe(later.digest);
    const [forEngine, forRegistry] = [buildImage(plan, plain), buildImage(plan, later)];
    expect(forEngine.configDigest).toBe(forRegistry.configDigest);
    expect(forEngine.manifestDigest).not.toBe(forRegistry.manifestDigest);
    expect(JSON.parse(forRegistry.manifestRaw.toString()).layers[0]).toEqual({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: later.digest, size: later.size });
  });
});
