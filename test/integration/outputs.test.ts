import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { ENGINE_PATHS, exportRootfs } from '../helpers/rootfs.js';
import { skopeoInspect, skopeoRawManifest, umociUnpack } from '../helpers/validate.js';

const work = mkdtempSync(join(tmpdir(), 'slim-outputs-test-'));
const madeTags: string[] = [];
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

const image = () => fixtureTag('python-http');
let port = 0;
let trace = '';
const smokeArgs = () => ['-e', `PORT=${port}`, '--network', 'host', '--smoke', `curl -fsS --max-time 5 http://127.0.0.1:${port}/health | grep -q ok`];

beforeAll(async () => {
  port = freePort();
  trace = join(work, 'trace.jsonl');
  const p = await runSlim(['probe', image(), '--trace-out', trace, ...smokeArgs()]);
  if (p.code !== 0) throw new Error(`probe failed: ${p.stderr}`);
});

describe('outputs, read back by skopeo, umoci and the engine', () => {
  it('writes an OCI layout, an OCI archive and a docker archive of the same verified image', async () => {
    const tag = `slim-test/python-http:out-${port}`;
    madeTags.push(tag);
    const dir = join(work, 'layout');
    const ociTar = join(work, 'slim.oci.tar');
    const dockerTar = join(work, 'slim.docker.tar');
    const r = await runSlim(['build', image(), '--trace', trace, '--tag', tag, ...smokeArgs(), '-o', 'docker', '-o', `oci:${dir}:v1`, '-o', `oci-archive:${ociTar}:v1`, '-o', `docker-archive:${dockerTar}`, '--json'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report!;
    expect(rep.output.written).toEqual([`docker:${tag}`, `oci:${dir}:v1`, `oci-archive:${ociTar}:v1`, `docker-archive:${dockerTar}`]);

    for (const ref of [`oci:${dir}:v1`, `oci-archive:${ociTar}:v1`]) {
      const raw = skopeoRawManifest(ref);
      expect(raw.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect(raw.annotations?.['io.slim.source.name']).toBe(image());
      const info = skopeoInspect(ref);
      expect(info.Layers).toHaveLength(1);
      expect(info.Labels?.['io.slim.source.name']).toBe(image());
      expect(`sha256:${createHash('sha256').update(readFileSync(join(dir, 'blobs/sha256', rep.output.digest.slice(7)))).digest('hex')}`).toBe(rep.output.digest);
    }
    expect(skopeoInspect(`oci:${dir}:v1`).Digest).toBe(rep.output.digest);
    expect(skopeoInspect(`docker-archive:${dockerTar}`).Layers).toHaveLength(1);
    // The engine loads the docker archive under the build's name: same image ID.
    docker(['rmi', tag]);
    const loaded = docker(['load', '-i', dockerTar]);
    expect(loaded).toContain(tag);
    expect(JSON.parse(docker(['image', 'inspect', tag]))[0].Id).toBe(rep.output.id);

    // umoci unpacks it (checking digests) into the same tree the engine exports.
    const rootfs = umociUnpack(dir, 'v1', join(work, 'bundle'));
    const engineView = await exportRootfs(tag);
    const walk = (d: string, rel = ''): string[] => readdirSync(join(d, rel)).flatMap((n) => {
      const p = `${rel}/${n}`;
      const st = lstatSync(join(d, p));
      return st.isDirectory() ? [p, ...walk(d, p)] : [p];
    });
    const unpacked = walk(rootfs).sort();
    for (const p of unpacked) {
      const e = engineView.get(p);
      expect(e, p).toBeDefined();
      const st = lstatSync(join(rootfs, p));
      if (st.isFile()) expect(createHash('sha256').update(readFileSync(join(rootfs, p))).digest('hex'), p).toBe(e!.sha256);
      expect(st.mode & 0o7777, p).toBe(e!.mode);
    }
    expect(unpacked.length).toBeGreaterThan(50);
    expect(statSync(join(rootfs, 'app/server.py')).isFile()).toBe(true);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('gives the same digest for the same image and trace, run after run', async () => {
    const digests: string[] = [];
    for (const n of [1, 2]) {
      const tag = `slim-test/python-http:det-${port}-${n}`;
      madeTags.push(tag);
      const r = await runSlim(['build', image(), '--trace', trace, '--tag', tag, ...smokeArgs(), '--json'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
      expect(r.code, r.stderr).toBe(0);
      digests.push(r.report!.output.digest);
      expect(r.report!.output.id).toBe(JSON.parse(docker(['image', 'inspect', tag]))[0].Id);
    }
    expect(digests[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digests[1]).toBe(digests[0]);
  });

  it('an output that cannot be written fails cleanly and leaves nothing under its name', async () => {
    const notLayout = join(work, 'not-a-layout');
    rmSync(notLayout, { recursive: true, force: true });
    mkdirSync(notLayout, { recursive: true });
    writeFileSync(join(notLayout, 'keep.txt'), 'user data');
    const r = await runSlim(['build', image(), '--trace', trace, '--tag', `slim-test/python-http:bad-${port}`, ...smokeArgs(), '-o', `oci:${notLayout}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: .*not-a-layout exists and is not an OCI image layout/);
    expect(readdirSync(notLayout)).toEqual(['keep.txt']);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('keeping every file reproduces the original filesystem exactly (round trip through flatten and pack)', async () => {
    const tag = `slim-test/static-bin:all-${port}`;
    madeTags.push(tag);
    const img = fixtureTag('static-bin');
    const p = freePort();
    const r = await runSlim(['build', img, '--tag', tag, '--include', '/', '-e', `PORT=${p}`, '--network', 'host', '--smoke', `curl -fsS --max-time 5 http://127.0.0.1:${p}/ | grep -q static-ok`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [orig, copy] = await Promise.all([exportRootfs(img), exportRootfs(tag)]);
    const strip = (m: Map<string, unknown>) => new Map([...m].filter(([k]) => !ENGINE_PATHS.has(k)));
    const [o, c] = [strip(orig), strip(copy)];
    expect(o.size).toBeGreaterThan(5000);
    expect([...c.keys()].sort()).toEqual([...o.keys()].sort());
    const content = (m: Map<string, any>, e: any) => (e.type === 'link' ? m.get('/' + e.linkname.replace(/^\/+/, ''))?.sha256 : e.sha256);
    const diffs: string[] = [];
    for (const [path, e] of orig) {
      if (ENGINE_PATHS.has(path)) continue;
      const x = copy.get(path)!;
      if (x.mode !== e.mode || x.uid !== e.uid || x.gid !== e.gid || x.linkname !== e.linkname && e.type === 'symlink' || content(copy, x) !== content(orig, e)) diffs.push(path);
    }
    expect(diffs).toEqual([]);
  });
});

describe('inputs that are not in the engine', () => {
  it.each(['docker-archive', 'oci', 'oci-archive'] as const)('builds from a %s written by skopeo, and leaves the engine as it was', async (kind) => {
    // An image the engine does not have: made here, saved, then removed from the engine.
    const unique = `slim-test/input-${kind}:${freePort()}`;
    docker(['build', '-q', '-t', unique, '-'], { input: `FROM ${fixtureTag('busybox-scratch')}\nLABEL io.slim.test.input="${unique}"\n`, env: { DOCKER_BUILDKIT: '0' } });
    const id = JSON.parse(docker(['image', 'inspect', unique]))[0].Id as string;
    const dir = join(work, `in-${kind}`);
    mkdirSync(dir, { recursive: true });
    const saved = join(dir, 'in.docker.tar');
    docker(['save', '-o', saved, unique]);
    const src = kind === 'docker-archive' ? `docker-archive:${saved}` : kind === 'oci' ? `oci:${join(dir, 'layout')}:v1` : `oci-archive:${join(dir, 'in.oci.tar')}:v1`;
    if (kind !== 'docker-archive') execFileSync('skopeo', ['copy', '-q', `docker-archive:${saved}`, src]);
    docker(['rmi', unique]);
    const out = join(work, `out-${kind}`);
    const r = await runSlim(['build', src, '-o', `oci:${out}:slim`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.input.ref).toBe(src);
    // skopeo rewrites the config when it converts to OCI, so only the docker archive keeps the engine's ID.
    if (kind === 'docker-archive') expect(r.report!.input.id).toBe(id);
    expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(skopeoInspect(`oci:${out}:slim`).Layers).toHaveLength(1);
    // The input was loaded for the run only, without its name; the slim image went to the layout only.
    expect(() => docker(['image', 'inspect', r.report!.input.id]), 'input image removed').toThrow();
    expect(() => docker(['image', 'inspect', unique]), 'no tag set from the archive').toThrow();
    expect(() => docker(['image', 'inspect', r.report!.output.id]), 'slim image not left in the engine').toThrow();
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('an input archive with a name that escapes the layout is rejected', async () => {
    const bad = join(work, 'evil.oci.tar');
    execFileSync('tar', ['-cf', bad, '-C', work, '--transform', 's,^,../,', 'trace.jsonl']);
    const r = await runSlim(['build', `oci-archive:${bad}`, '-o', `oci:${join(work, 'never')}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: .*unexpected entry "\.\.\/trace\.jsonl" in an OCI archive/);
  });
});
