import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerArchiveSource } from '../../src/sources/archive-source.js';
import { writeCheckedArchive } from '../../src/sources/checked-archive.js';
import { layoutSource } from '../../src/sources/layout-source.js';
import { runImageRef } from '../../src/runtime/run-images.js';
import { UnsafeImageError } from '../../src/errors.js';
import { mkLayer, tarOf } from '../helpers/layers.js';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const work = await mkdtemp(join(tmpdir(), 'slim-file-inputs-'));
afterAll(() => rm(work, { recursive: true, force: true }));

let n = 0;
/** A docker-archive made in memory, as a file input. */
async function archiveSource(file: Buffer, label: string) {
  const path = join(work, `${n++}-image.tar`);
  await writeFile(path, file);
  return dockerArchiveSource(path, label, { untrusted: true });
}

/** Run a check against an archive, collecting what it would hand the engine. */
async function verify(run: (out: tar.Pack, name: (id: string) => Promise<string[]>) => Promise<{ configDigest: string }>) {
  const out = tar.pack();
  const named: string[] = [];
  const entries: { name: string; body: Buffer }[] = [];
  const extract = tar.extract();
  const reading = (async () => {
    for await (const e of extract) {
      const c: Buffer[] = [];
      for await (const b of e as AsyncIterable<Buffer>) c.push(b);
      entries.push({ name: e.header.name, body: Buffer.concat(c) });
    }
  })();
  (out as unknown as Readable).pipe(extract as unknown as NodeJS.WritableStream);
  const result = await run(out, async (id) => {
    named.push(id);
    return ['slim-run/t:input'];
  });
  await reading;
  return { result, named, entries };
}

const config = (diffIds: string[]) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/x'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));

async function dockerArchive(layer: Buffer, opts: { configName?: (h: string) => string; diffId?: string } = {}): Promise<{ file: Buffer; configHex: string }> {
  const cfg = config([opts.diffId ?? `sha256:${hex(layer[0] === 0x1f ? gunzipSync(layer) : layer)}`]);
  const configName = opts.configName?.(hex(cfg)) ?? `${hex(cfg)}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['victim:1'], Layers: ['l1/layer.tar'] }]));
  return { file: await tarOf([{ name: 'l1/layer.tar', body: layer }, { name: configName, body: cfg }, { name: 'manifest.json', body: manifest }]), configHex: hex(cfg) };
}

describe('docker-archive inputs, checked as they stream', () => {
  it('a good archive: the config digest from its bytes, manifest.json last with the run tag only', async () => {
    const layer = await mkLayer([{ path: 'bin/' }, { path: 'bin/app', body: 'app' }], { gzip: true });
    const { file, configHex } = await dockerArchive(layer);
    const { result, named, entries } = await verify(async (out, name) => writeCheckedArchive(await archiveSource(file, 'docker-archive:t'), out, name));
    expect(result.configDigest).toBe(`sha256:${configHex}`);
    expect(named).toEqual([`sha256:${configHex}`]);
    expect(entries.map((e) => e.name)).toEqual(['layers/0.tar', `${configHex}.json`, 'manifest.json']);
    expect(entries[0]!.body.equals(layer)).toBe(true);
    expect(JSON.parse(entries[2]!.body.toString())).toEqual([{ Config: `${configHex}.json`, RepoTags: ['slim-run/t:input'], Layers: ['layers/0.tar'] }]);
  });

  it('a config named for another digest is refused, naming both', async () => {
    const other = 'ab'.repeat(32);
    const { file, configHex } = await dockerArchive(await mkLayer([{ path: 'a', body: 'a' }]), { configName: () => `${other}.json` });
    const run = verify(async (out, name) => writeCheckedArchive(await archiveSource(file, 'docker-archive:t'), out, name));
    await expect(run).rejects.toThrow(UnsafeImageError);
    await expect(run).rejects.toThrow(`docker-archive:t: ${other}.json is named for sha256:${other} but its content is sha256:${configHex}`);
  });

  it('a layer whose uncompressed bytes are not the config diff_id is refused before manifest.json', async () => {
    const layer = await mkLayer([{ path: 'a', body: 'a' }], { gzip: true });
    const wrong = `sha256:${'cd'.repeat(32)}`;
    const { file } = await dockerArchive(layer, { diffId: wrong });
    const out = tar.pack();
    const names: string[] = [];
    await expect(writeCheckedArchive(await archiveSource(file, 'docker-archive:t'), out, async (id) => (names.push(id), []))).rejects.toThrow(
      `docker-archive:t: layer l1/layer.tar does not match its digest: uncompressed it is sha256:${hex(gunzipSync(layer))}, the config's rootfs.diff_ids[0] says ${wrong}`,
    );
    expect(names).toEqual([]);
  });

  it('a ../ entry is refused with slim\'s own error naming the entry and the layer', async () => {
    const { file } = await dockerArchive(await mkLayer([{ path: 'ok', body: 'x' }, { path: '../escape', body: 'y' }]));
    await expect(verify(async (out, name) => writeCheckedArchive(await archiveSource(file, 'docker-archive:t'), out, name))).rejects.toThrow(
      'docker-archive:t: layer l1/layer.tar: unsafe entry "../escape": it climbs out of the image root',
    );
  });
});

describe('OCI layouts, checked as they stream', () => {
  async function layout(name: string, edit: (dir: string, d: { layer: string; config: string }) => Promise<void> = async () => {}) {
    const dir = join(work, name);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const put = async (b: Buffer) => (await writeFile(join(dir, 'blobs', 'sha256', hex(b)), b), hex(b));
    const layerBuf = await mkLayer([{ path: 'a', body: 'a' }], { gzip: true });
    const layer = await put(layerBuf);
    const cfg = config([`sha256:${hex(gunzipSync(layerBuf))}`]);
    const cfgHex = await put(cfg);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${cfgHex}`, size: cfg.length }, layers: [{ digest: `sha256:${layer}`, size: layerBuf.length }] }));
    const m = await put(manifest);
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${m}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
    await edit(dir, { layer, config: cfgHex });
    return { dir, cfgHex, layer };
  }

  it('a good layout: its blobs under their digests, the config digest checked', async () => {
    const { dir, cfgHex, layer } = await layout('good');
    const { result, entries } = await verify(async (out, name) => writeCheckedArchive(await layoutSource(dir, 'v1', 'oci:good'), out, name));
    expect(result.configDigest).toBe(`sha256:${cfgHex}`);
    expect(entries.map((e) => e.name)).toEqual([`blobs/sha256/${layer}`, `blobs/sha256/${cfgHex}`, 'manifest.json']);
  });

  it('a layer blob whose bytes do not match its name', async () => {
    const { dir, layer } = await layout('bad-layer', async (d, { layer }) => {
      await writeFile(join(d, 'blobs', 'sha256', layer), await mkLayer([{ path: 'b', body: 'b' }], { gzip: true }));
    });
    await expect(verify(async (out, name) => writeCheckedArchive(await layoutSource(dir, 'v1', 'oci:bad'), out, name))).rejects.toThrow(new RegExp(`^oci:bad: layer blob sha256:${layer} (is \\d+ bytes|does not match its digest: its content is sha256:[0-9a-f]{64})`));
  });

  it('a blob that is a symlink, even to the same bytes, is not followed', async () => {
    const { dir, layer } = await layout('symlinked', async (d, { layer }) => {
      const outside = join(work, 'outside-blob');
      await rename(join(d, 'blobs', 'sha256', layer), outside);
      await symlink(outside, join(d, 'blobs', 'sha256', layer));
    });
    await expect(verify(async (out, name) => writeCheckedArchive(await layoutSource(dir, 'v1', 'oci:sym'), out, name))).rejects.toThrow(`oci:sym: blob sha256:${layer} is a symlink; slim reads only regular files inside the layout`);
  });
});

describe('run tags', () => {
  it('are slim-run/<run id>:<role>, a valid name whatever the run id', () => {
    expect(runImageRef('ci-42', 'input')).toBe('slim-run/ci-42:input');
    expect(runImageRef('a1b2c3', 'slim-0')).toBe('slim-run/a1b2c3:slim-0');
    expect(runImageRef('x_', 'input')).toMatch(/^slim-run\/x-[0-9a-f]{8}:input$/);
    expect(runImageRef('x..y', 'input')).not.toBe(runImageRef('x.y', 'input'));
  });
});
