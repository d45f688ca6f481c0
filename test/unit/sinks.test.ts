import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { SlimError } from '../../src/errors.js';
import { parseOutputRef } from '../../src/sinks/output.js';
import { sinksFor } from '../../src/sinks/sinks-for.js';
import { fileSink } from '../../src/sinks/file-sinks.js';
import { EngineSink } from '../../src/sinks/engine-sink.js';
import { registrySinks } from '../../src/sinks/registry-sink.js';
import { listing, prepare, publish } from '../../src/sinks/publish.js';
import type { ImageSink, SinkContext, Written } from '../../src/sinks/image-sink.js';
import type { BuiltImage } from '../../src/pack/image-builder.js';
import type { Pushed } from '../../src/registry/push.js';
import { skopeoInspect, skopeoRawManifest, umociUnpack } from '../helpers/validate.js';
import { mkBuiltImage } from '../helpers/built-image.js';

const work = mkdtempSync(join(tmpdir(), 'slim-sinks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ctx = (): SinkContext => ({ signal: new AbortController().signal, log: silentLogger });
const noKeep = async () => {};
const registry = { insecure: [], attach: true };
const img = { manifestDigest: `sha256:${'ab'.repeat(32)}` } as BuiltImage;

describe('the sinks of a list of outputs', () => {
  const outputs = ['registry:r.io/team/app', 'oci:/out/layout:v1', 'docker', 'docker-archive:/out/app.tar', 'registry:r.io/team/app:pinned', 'docker', 'oci-archive:/out/app.oci.tar'].map(parseOutputRef);

  it('are written files first as given, then the engine once, then the registries; the report lists the engine first', () => {
    const sinks = sinksFor(outputs, { name: 'app:1.2-slim', keep: noKeep, registry });
    expect(sinks.map((s) => s.label)).toEqual([
      'oci:/out/layout:v1',
      'docker-archive:/out/app.tar',
      'oci-archive:/out/app.oci.tar',
      'docker:app:1.2-slim',
      'registry:r.io/team/app:1.2-slim',
      'registry:r.io/team/app:pinned',
    ]);
    expect(listing(sinks, img)).toEqual([
      'docker:app:1.2-slim',
      'oci:/out/layout:v1',
      'docker-archive:/out/app.tar',
      'oci-archive:/out/app.oci.tar',
      `registry:r.io/team/app:1.2-slim@${img.manifestDigest}`,
      `registry:r.io/team/app:pinned@${img.manifestDigest}`,
    ]);
  });

  it('a layout or archive without a tag is listed as given; a name without a tag pushes :latest', () => {
    const sinks = sinksFor(['oci:/out/l', 'oci-archive:/out/a.tar', 'registry:r.io/x'].map(parseOutputRef), { name: 'app', keep: noKeep, registry });
    expect(listing(sinks, img)).toEqual(['oci:/out/l', 'oci-archive:/out/a.tar', `registry:r.io/x:latest@${img.manifestDigest}`]);
    expect(sinksFor([], { name: 'app', keep: noKeep, registry })).toEqual([]);
  });

  it('the engine sink tags the loaded image with the name, :latest when it has no tag', async () => {
    const kept: string[] = [];
    const keep = async (repo: string, tag: string) => void kept.push(`${repo} ${tag}`);
    expect(await new EngineSink('localhost:5000/team/app:v2', keep).write(img)).toEqual({ entry: 'docker:localhost:5000/team/app:v2' });
    await new EngineSink('app', keep).write(img);
    expect(kept).toEqual(['localhost:5000/team/app v2', 'app latest']);
  });
});

/** A sink made in the test: it records its prepare and write in `log`, and fails where told. */
function fake(label: string, log: string[], opts: { kind?: ImageSink['kind']; failWrite?: boolean; failPrepare?: boolean; pushed?: boolean } = {}): ImageSink {
  const pushed: Pushed = { ref: label, digest: img.manifestDigest, blobs: { uploaded: 1, mounted: 0, existed: 1 }, attachments: [] };
  return {
    kind: opts.kind ?? 'oci',
    label,
    entry: () => label,
    prepare: async () => {
      log.push(`prepare ${label}`);
      if (opts.failPrepare) throw new SlimError(`${label} cannot be reached`);
    },
    write: async (): Promise<Written> => {
      log.push(`write ${label}`);
      await new Promise((r) => setImmediate(r));
      if (opts.failWrite) throw new SlimError(`writing ${label} failed`);
      return { entry: label, ...(opts.pushed ? { pushed } : {}) };
    },
  };
}

describe('publishing to a list of sinks', () => {
  it('writes each in turn, one after the other, and lists them in the report order', async () => {
    const log: string[] = [];
    const sinks = [fake('a', log), fake('b', log), fake('docker:x', log, { kind: 'docker' }), fake('r1', log, { kind: 'registry', pushed: true }), fake('r2', log, { kind: 'registry', pushed: true })];
    const out = await publish(sinks, img, ctx());
    expect(log).toEqual(['write a', 'write b', 'write docker:x', 'write r1', 'write r2']);
    expect(out.written).toEqual(['docker:x', 'a', 'b', 'r1', 'r2']);
    expect(out.written).toEqual(listing(sinks, img));
    expect(out.pushed.map((p) => p.ref)).toEqual(['r1', 'r2']);
    expect(out.pushSeconds).toBeGreaterThanOrEqual(0);
  });

  it('stops at the first sink that fails: its error, and nothing after it is written', async () => {
    const log: string[] = [];
    const sinks = [fake('a', log), fake('b', log, { failWrite: true }), fake('docker:x', log, { kind: 'docker' }), fake('r', log, { kind: 'registry', pushed: true })];
    await expect(publish(sinks, img, ctx())).rejects.toThrow('writing b failed');
    expect(log).toEqual(['write a', 'write b']);
  });

  it('writes nothing for no sinks, and reports no push time without registries', async () => {
    expect(await publish([], img, ctx())).toEqual({ written: [], pushed: [] });
    expect(await publish([fake('a', [])], img, ctx())).toEqual({ written: ['a'], pushed: [] });
  });

  it('prepares every sink in order without writing any, and stops at the first that fails', async () => {
    const log: string[] = [];
    await prepare([fake('a', log), fake('b', log)], ctx());
    expect(log).toEqual(['prepare a', 'prepare b']);
    log.length = 0;
    await expect(prepare([fake('a', log), fake('b', log, { failPrepare: true }), fake('c', log)], ctx())).rejects.toThrow('b cannot be reached');
    expect(log).toEqual(['prepare a', 'prepare b']);
  });

  it('a registry that does not answer fails its preflight with the output named as given', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise((r) => s.close(r));
    const [sink] = registrySinks([{ host, repository: 'x/y' }], 'v1', registry);
    expect(sink!.label).toBe(`registry:${host}/x/y:v1`);
    const err = await prepare([sink!], ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlimError);
    expect((err as Error).message).toMatch(new RegExp(`^--output registry:${host.replace(/\./g, '\\.')}/x/y: contacting the registry`));
  });
});

describe('the file sinks write an image that clients read back', () => {
  it('an OCI layout, an OCI archive and a docker archive: skopeo finds the same manifest and layer', async () => {
    const built = await mkBuiltImage(work, { randomSize: 64 * 1024 });
    const out = join(work, 'out');
    const refs = [`oci:${join(out, 'layout')}:v1`, `oci-archive:${join(out, 'app.oci.tar')}:v1`, `docker-archive:${join(out, 'app.tar')}`];
    const sinks = refs.map((r) => fileSink(parseOutputRef(r) as Parameters<typeof fileSink>[0], 'slim-test/app:v1'));
    expect((await publish(sinks, built, ctx())).written).toEqual(refs);
    for (const ref of refs) {
      const info = skopeoInspect(ref);
      // A docker-archive's layers are named by their uncompressed digest.
      expect(info.Layers, ref).toEqual([ref.startsWith('docker-archive:') ? built.layer.diffId : built.layer.digest]);
      expect(info.Os, ref).toBe('linux');
    }
    for (const ref of refs.slice(0, 2)) expect(skopeoRawManifest(ref).config.digest).toBe(built.configDigest);
    expect(skopeoInspect(refs[0]!).Digest).toBe(built.manifestDigest);
    expect(readdirSync(join(umociUnpack(join(out, 'layout'), 'v1', join(work, 'bundle')), 'data'))).toEqual(['blob']);
    // docker load gives it the build's name.
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', join(out, 'app.tar'), 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
    expect(manifest[0]!.RepoTags).toEqual(['slim-test/app:v1']);
    expect(readdirSync(out).sort()).toEqual(['app.oci.tar', 'app.tar', 'layout']);
  });

  it('a second image added to a layout under another tag keeps the first', async () => {
    const dir = join(work, 'two');
    const first = await mkBuiltImage(work, { randomSize: 4096, name: 'one' });
    const second = await mkBuiltImage(work, { randomSize: 4096, name: 'two' });
    await publish([fileSink({ kind: 'oci', dir, tag: 'a' }, 'x')], first, ctx());
    await publish([fileSink({ kind: 'oci', dir }, 'x')], second, ctx());
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest])).toEqual([['a', first.manifestDigest], ['latest', second.manifestDigest]]);
    expect(skopeoInspect(`oci:${dir}:a`).Digest).toBe(first.manifestDigest);
    expect(skopeoInspect(`oci:${dir}:latest`).Digest).toBe(second.manifestDigest);
  });
});
