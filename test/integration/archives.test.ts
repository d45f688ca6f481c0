import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentSpool } from '../../src/sources/content-spool.js';
import { openSource } from '../../src/sources/open-source.js';
import { readImage, type ReadImage } from '../../src/sources/read-image.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { Scope } from '../../src/runtime/scope.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { runSlim } from '../helpers/slim.js';
import { docker, removeImages } from '../helpers/engine.js';

const work = mkdtempSync(join(tmpdir(), 'slim-archives-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An OCI archive of a fixture written by skopeo with the given layer compression. */
function ociArchive(fixture: string, compression: 'gzip' | 'zstd'): string {
  const file = join(work, `${fixture}-${compression}.tar`);
  execFileSync('skopeo', ['copy', '-q', '--dest-compress', '--dest-compress-format', compression, `docker-daemon:${fixtureTag(fixture)}`, `oci-archive:${file}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
  return file;
}

async function read(file: string): Promise<{ img: ReadImage; spool: ContentSpool; close: () => Promise<void> }> {
  const spool = await ContentSpool.create(mkdtempSync(join(work, 'spool-')));
  const scope = new Scope();
  const img = await readImage(await openSource({ kind: 'oci-archive', file }, { runtime: {} as Runtime, scope }), spool, { keepLayers: true });
  return { img, spool, close: async () => (await spool.close(), await scope.dispose(), undefined) };
}

describe('layer compression as other tools write it', () => {
  it('reads an OCI archive whose layers skopeo compressed with zstd exactly as the gzip one', async () => {
    const [gz, zst] = await Promise.all([read(ociArchive('python-http', 'gzip')), read(ociArchive('python-http', 'zstd'))]);
    try {
      expect(zst.img.layers!.map((l) => l.compression)).toEqual(gz.img.layers!.map(() => 'zstd'));
      expect(gz.img.layers!.every((l) => l.compression === 'gzip')).toBe(true);
      const listing = (img: ReadImage) => img.index.sorted().map((e) => `${e.path} ${e.kind} ${e.kind === 'file' ? e.size : ''} ${e.meta.mode.toString(8)}`);
      expect(listing(zst.img)).toEqual(listing(gz.img));
      expect(zst.img.index.sorted().length).toBeGreaterThan(5000);
      const server = (r: typeof gz) => {
        const e = r.img.index.get('/app/server.py')!;
        return e.kind === 'file' ? r.spool.read(e) : Promise.reject(new Error('no /app/server.py'));
      };
      expect((await server(zst)).equals(await server(gz))).toBe(true);
    } finally {
      await Promise.all([gz.close(), zst.close()]);
    }
  });

  it('slim build takes a zstd OCI archive as its input: the job works, its slim image passes, nothing stays loaded', async () => {
    const tag = `slim-test/busybox-zstd:${process.pid}`;
    try {
      const r = await runSlim(['build', `oci-archive:${ociArchive('busybox-scratch', 'zstd')}:v1`, '--tag', tag, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
      expect(docker(['run', '--rm', '--network', 'none', tag]).trim().split('\n')[0]).toBe('busybox-job-ok');
      expect(() => docker(['image', 'inspect', r.report!.input.id])).toThrow();
    } finally {
      removeImages([tag]);
    }
  });
});
