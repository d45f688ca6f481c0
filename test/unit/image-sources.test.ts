import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { openImage } from '../../src/pipeline/read-step.js';
import { Scope } from '../../src/runtime/scope.js';
import { ContentSpool } from '../../src/sources/content-spool.js';
import type { ImageSource } from '../../src/sources/image-source.js';
import { openSource } from '../../src/sources/open-source.js';
import { readImage } from '../../src/sources/read-image.js';
import { parseSourceRef } from '../../src/sources/source-ref.js';
import { mkLayer, tarOf, type Spec } from '../helpers/layers.js';
import { MemoryRuntime } from '../helpers/memory-runtime.js';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const work = await mkdtemp(join(tmpdir(), 'slim-image-sources-'));
afterAll(() => rm(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(work, `${n++}-${name}`);

/** Two layers (one gzipped, one plain) and a config whose diff_ids match them. */
async function parts() {
  const layers = [await mkLayer([{ path: 'bin/' }, { path: 'bin/app', body: 'app' }], { gzip: true }), await mkLayer([{ path: 'etc/' }, { path: 'etc/conf', body: 'x=1\n' }])];
  const diffIds = layers.map((l) => `sha256:${hex(l[0] === 0x1f ? gunzipSync(l) : l)}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/app'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  return { layers, config };
}
type Parts = Awaited<ReturnType<typeof parts>>;

/**
 * A docker-archive whose layers sit behind entries with PAX headers and a long name, the second
 * one reached through a symlink, as docker save links a shared layer.
 */
async function dockerArchive(p: Parts, edit: (specs: Spec[]) => void = () => {}): Promise<string> {
  const specs: Spec[] = [
    { path: `${'long-name/'.repeat(12)}VERSION`, body: '1.0' },
    { path: `${'x'.repeat(200)}/json`, body: '{}' },
    { path: 'l1/layer.tar', body: p.layers[0]!, pax: { comment: 'a PAX header before the layer' } },
    { path: 'l2/layer.tar', body: p.layers[1]! },
    { path: 'l3/layer.tar', type: 'symlink', linkname: '../l2/layer.tar' },
    { path: `${hex(p.config)}.json`, body: p.config, pax: { comment: 'x'.repeat(600) } },
    { path: 'manifest.json', body: JSON.stringify([{ Config: `${hex(p.config)}.json`, RepoTags: null, Layers: ['l1/layer.tar', 'l3/layer.tar'] }]) },
  ];
  edit(specs);
  const file = fresh('image.tar');
  await writeFile(file, await mkLayer(specs));
  return file;
}

/** An OCI layout's files (name → body). */
function layoutFiles(p: Parts): Map<string, Buffer> {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${hex(p.config)}`, size: p.config.length }, layers: p.layers.map((l) => ({ digest: `sha256:${hex(l)}`, size: l.length })) }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${hex(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  const files = new Map<string, Buffer>([['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')], ['index.json', index]]);
  for (const b of [...p.layers, p.config, manifest]) files.set(`blobs/sha256/${hex(b)}`, b);
  return files;
}

async function ociDir(p: Parts): Promise<string> {
  const dir = fresh('layout');
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [name, body] of layoutFiles(p)) await writeFile(join(dir, name), body);
  return dir;
}

async function ociArchive(p: Parts): Promise<string> {
  const file = fresh('image.oci.tar');
  await writeFile(file, await tarOf([...layoutFiles(p)].map(([name, body]) => ({ name, body }))));
  return file;
}

/** An engine that holds the image as app:1. */
async function engineWith(p: Parts): Promise<{ mem: MemoryRuntime; id: string }> {
  const mem = new MemoryRuntime();
  const manifest = Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['app:1'], Layers: ['l0.tar', 'l1.tar'] }]));
  const archive = await tarOf([{ name: 'c.json', body: p.config }, ...p.layers.map((body, i) => ({ name: `l${i}.tar`, body })), { name: 'manifest.json', body: manifest }]);
  return { mem, id: await mem.loadImage(Readable.from([archive]), new AbortController().signal) };
}

async function bytesOf(source: ImageSource, i: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await (await source.layers())[i]!.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The layer with one byte of a file's content changed: the same size, other bytes. */
function tampered(layer: Buffer): Buffer {
  const other = Buffer.from(layer);
  other[other.indexOf('x=1\n')] = 'y'.charCodeAt(0);
  return other;
}

/** Run with a scope and a spool of its own, cleaned up after. */
async function inScope<T>(body: (scope: Scope, spool: ContentSpool) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    const spool = await ContentSpool.create(await scope.tempDir());
    scope.defer('spool', () => spool.close());
    return await body(scope, spool);
  } finally {
    await scope.dispose();
  }
}

const listing = (img: Awaited<ReturnType<typeof readImage>>) => img.index.sorted().map((e) => `${e.path} ${e.kind}`);

describe('each input as an image source', () => {
  it('docker-archive, OCI layout, oci-archive and the engine: every layer opened twice gives its blob twice, and the image reads the same', async () => {
    const p = await parts();
    const { mem, id } = await engineWith(p);
    const refs = [`docker-archive:${await dockerArchive(p)}`, `oci:${await ociDir(p)}:v1`, `oci-archive:${await ociArchive(p)}`, 'app:1'];
    const read = [];
    for (const ref of refs) {
      read.push(await inScope(async (scope, spool) => {
        const source = await openSource(parseSourceRef(ref), { runtime: mem, scope });
        expect((await source.config()).digest, ref).toBe(id);
        // The engine saves layers uncompressed.
        const blobs = ref === 'app:1' ? [gunzipSync(p.layers[0]!), p.layers[1]!] : p.layers;
        for (const i of [0, 1]) for (const _ of [1, 2]) expect((await bytesOf(source, i)).equals(blobs[i]!), `${ref} layer ${i}`).toBe(true);
        return readImage(source, spool, { keepLayers: true });
      }));
    }
    for (const [i, img] of read.entries()) {
      expect(img.configDigest).toBe(id);
      expect(listing(img), refs[i]).toEqual(['/bin dir', '/bin/app file', '/etc dir', '/etc/conf file']);
    }
    expect(read.map((img) => img.layers!.map((l) => l.compression))).toEqual([['gzip', 'none'], ['gzip', 'none'], ['gzip', 'none'], ['none', 'none']]);
  });

  it('a docker-archive layer opened alone is that entry only, found through the archive\'s symlink', async () => {
    const p = await parts();
    await inScope(async (scope) => {
      const source = await openSource(parseSourceRef(`docker-archive:${await dockerArchive(p)}`), { runtime: new MemoryRuntime(), scope });
      const layers = await source.layers();
      expect(layers.map((l) => [l.name, l.size])).toEqual([['l1/layer.tar', p.layers[0]!.length], ['l2/layer.tar', p.layers[1]!.length]]);
      expect((await bytesOf(source, 1)).equals(p.layers[1]!)).toBe(true);
    });
  });

  it('an oci-archive\'s unpacked layout and the engine\'s save are gone once the source is closed', async () => {
    const p = await parts();
    const { mem } = await engineWith(p);
    for (const ref of [`oci-archive:${await ociArchive(p)}`, 'app:1']) {
      await inScope(async (scope) => {
        const source = await openSource(parseSourceRef(ref), { runtime: mem, scope });
        expect((await bytesOf(source, 1)).equals(p.layers[1]!), ref).toBe(true);
        await source.close?.();
        await expect(bytesOf(source, 1), ref).rejects.toThrow();
      });
    }
  });
});

describe('a tampered blob fails as it is read, with the message of a load', () => {
  const failure = (ref: string, runtime = new MemoryRuntime()) =>
    inScope(async (scope, spool) => readImage(await openSource(parseSourceRef(ref), { runtime, scope }), spool)).then(
      () => 'read',
      (e: Error) => e.message,
    );

  it('an OCI layout layer of the right size but other bytes', async () => {
    const p = await parts();
    const dir = await ociDir(p);
    const other = tampered(p.layers[1]!);
    await writeFile(join(dir, 'blobs', 'sha256', hex(p.layers[1]!)), other);
    const msg = `oci:${dir}: layer blob sha256:${hex(p.layers[1]!)} does not match its digest: its content is sha256:${hex(other)}`;
    await inScope(async (scope) => {
      const source = await openSource(parseSourceRef(`oci:${dir}`), { runtime: new MemoryRuntime(), scope });
      await expect(bytesOf(source, 1)).rejects.toThrow(msg);
      expect((await bytesOf(source, 0)).equals(p.layers[0]!)).toBe(true);
    });
    expect(await failure(`oci:${dir}`)).toBe(msg);
  });

  it('a docker-archive entry named blobs/sha256/<hex> that holds other bytes', async () => {
    const p = await parts();
    const claimed = hex(p.layers[1]!);
    const file = await dockerArchive(p, (specs) => {
      specs[3] = { path: `blobs/sha256/${claimed}`, body: p.layers[0]! };
      specs[4] = { path: 'l3/layer.tar', type: 'symlink', linkname: `../blobs/sha256/${claimed}` };
    });
    expect(await failure(`docker-archive:${file}`)).toBe(`docker-archive:${file}: blobs/sha256/${claimed} is named for sha256:${claimed} but its content is sha256:${hex(p.layers[0]!)}`);
  });

  it('a docker-archive layer that is not what the config\'s diff_ids say', async () => {
    const p = await parts();
    const other = await mkLayer([{ path: 'etc/' }, { path: 'etc/conf', body: 'x=2\n' }]);
    const file = await dockerArchive(p, (specs) => (specs[3] = { path: 'l2/layer.tar', body: other }));
    const diffIds = (JSON.parse(p.config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    expect(await failure(`docker-archive:${file}`)).toBe(`docker-archive:${file}: layer l2/layer.tar does not match its digest: uncompressed it is sha256:${hex(other)}, the config's rootfs.diff_ids[1] says ${diffIds[1]}`);
  });
});

describe('slim build of a file input: read from the file while it loads into the engine', () => {
  const deps = (runtime: MemoryRuntime, scope: Scope) => ({ runtime, log: silentLogger, scope });

  it('the image read is the image loaded, under the run\'s tag, by its config digest', async () => {
    const p = await parts();
    const mem = new MemoryRuntime();
    const scope = new Scope();
    try {
      const opened = await openImage(`oci:${await ociDir(p)}:v1`, deps(mem, scope));
      expect(opened.inspect.id).toBe(`sha256:${hex(p.config)}`);
      expect(opened.img.configDigest).toBe(opened.inspect.id);
      expect(listing(opened.img)).toEqual(['/bin dir', '/bin/app file', '/etc dir', '/etc/conf file']);
      expect(mem.tagsOf(opened.inspect.id)).toEqual([`slim-run/${scope.id}:input`]);
    } finally {
      await scope.dispose();
    }
  });

  it('a tampered layer fails the run with its message, and nothing is loaded', async () => {
    const p = await parts();
    const dir = await ociDir(p);
    const other = tampered(p.layers[1]!);
    await writeFile(join(dir, 'blobs', 'sha256', hex(p.layers[1]!)), other);
    const mem = new MemoryRuntime();
    const scope = new Scope();
    try {
      await expect(openImage(`oci:${dir}`, deps(mem, scope))).rejects.toThrow(`oci:${dir}: layer blob sha256:${hex(p.layers[1]!)} does not match its digest: its content is sha256:${hex(other)}`);
      expect(await mem.inspectImage(`sha256:${hex(p.config)}`)).toBeUndefined();
    } finally {
      await scope.dispose();
    }
  });
});
