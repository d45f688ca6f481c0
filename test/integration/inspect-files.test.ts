import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { runSlim } from '../helpers/slim.js';
import type { InspectReport } from '../../src/inspect/analyse.js';
import type { DiffReport } from '../../src/inspect/diff.js';

/** Nothing listens there: a run that asks the engine anything fails. */
const NO_ENGINE = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
const suffix = randomBytes(4).toString('hex');
const A = fixtureTag('busybox-scratch');
const B = `slim-test/inspect-files-b:${suffix}`;
const dir = mkdtempSync(join(tmpdir(), 'slim-inspect-files-'));
const files = (img: 'a' | 'b') => ({
  dockerArchive: `docker-archive:${join(dir, `${img}.tar`)}`,
  ociArchive: `oci-archive:${join(dir, `${img}.oci.tar`)}:v1`,
  ociDir: `oci:${join(dir, `${img}.oci`)}:v1`,
});

async function tarFile(path: string, entries: { name: string; body: string }[]): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) await new Promise<void>((res, rej) => pack.entry({ name: e.name, size: Buffer.byteLength(e.body) }, e.body, (err) => (err ? rej(err) : res())));
  pack.finalize();
  await done;
  writeFileSync(path, Buffer.concat(chunks));
}

beforeAll(() => {
  // B: A with a file removed and one added, made by the classic builder (as fixtures are).
  const ctx = join(dir, 'ctx');
  execFileSync('mkdir', ['-p', ctx]);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${A}\nRUN rm /bin/wc && echo added > /added\n`);
  execFileSync('docker', ['build', '--network', 'host', '-q', '-t', B, ctx], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  for (const [img, tag] of [['a', A], ['b', B]] as const) {
    const f = join(dir, `${img}.tar`);
    docker(['save', '-o', f, tag]);
    execFileSync('skopeo', ['copy', '-q', `docker-archive:${f}`, `oci-archive:${join(dir, `${img}.oci.tar`)}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('skopeo', ['copy', '-q', `docker-archive:${f}`, `oci:${join(dir, `${img}.oci`)}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}, 900_000);

afterAll(() => {
  removeImages([B]);
  rmSync(dir, { recursive: true, force: true });
});

// skopeo writes the config anew in OCI form, so the image ID differs; the filesystem does not.
const comparableInspect = (r: InspectReport) => ({ ...r, image: { ...r.image, ref: undefined, id: undefined }, layers: r.layers.map((l) => ({ ...l, archive: undefined })) });
const comparableDiff = (d: DiffReport) => ({ ...d, a: { ...d.a, ref: undefined, id: undefined }, b: { ...d.b, ref: undefined, id: undefined } });

describe('slim inspect and slim diff of files, with no engine', () => {
  it('inspect: a docker-archive, an oci-archive and an OCI layout give the engine\'s report', async () => {
    const id = docker(['image', 'inspect', '-f', '{{.Id}}', A]).trim();
    const fromEngine = await runSlim(['inspect', A, '--json']);
    expect(fromEngine.code, fromEngine.stderr).toBe(0);
    const want = JSON.parse(fromEngine.stdout) as InspectReport;
    const f = files('a');
    for (const [ref, sameId] of [[f.dockerArchive, true], [f.ociArchive, false], [f.ociDir, false]] as const) {
      const r = await runSlim(['inspect', ref, '--json'], { env: NO_ENGINE });
      expect(r.code, `${ref}: ${r.stderr}`).toBe(0);
      const report = JSON.parse(r.stdout) as InspectReport;
      expect(report.image.ref).toBe(ref);
      if (sameId) expect(report.image.id).toBe(id);
      expect(comparableInspect(report), ref).toEqual(comparableInspect(want));
    }
  });

  it('diff: between any two kinds of file, the engine\'s report', async () => {
    const fromEngine = await runSlim(['diff', A, B, '--json']);
    expect(fromEngine.code, fromEngine.stderr).toBe(0);
    const want = JSON.parse(fromEngine.stdout) as DiffReport;
    expect(want.removed.entries).toBeGreaterThan(0);
    expect(want.added.files).toBeGreaterThan(0);
    const a = files('a');
    const b = files('b');
    for (const [x, y] of [[a.dockerArchive, b.ociArchive], [a.ociArchive, b.ociDir], [a.ociDir, b.dockerArchive]] as const) {
      const r = await runSlim(['diff', x, y, '--json'], { env: NO_ENGINE });
      expect(r.code, `${x} ${y}: ${r.stderr}`).toBe(0);
      const report = JSON.parse(r.stdout) as DiffReport;
      expect([report.a.ref, report.b.ref]).toEqual([x, y]);
      expect(comparableDiff(report), `${x} → ${y}`).toEqual(comparableDiff(want));
    }
  });

  it('a malformed archive: exit 1, one error line naming the file and the problem', async () => {
    const badDocker = join(dir, 'bad.tar');
    await tarFile(badDocker, [{ name: 'manifest.json', body: '[{"Config": ' }]);
    const badOci = join(dir, 'bad.oci.tar');
    const missing = `sha256:${'ab'.repeat(32)}`;
    await tarFile(badOci, [
      { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [{ digest: missing, size: 10 }] }) },
    ]);
    for (const [args, line] of [
      [['inspect', `docker-archive:${badDocker}`], new RegExp(`^slim: error: docker-archive:${badDocker}: manifest\\.json is not JSON \\(.+\\)$`)],
      [['inspect', `oci-archive:${badOci}`], new RegExp(`^slim: error: oci-archive:${badOci}: blob ${missing} named in index\\.json is missing$`)],
      [['diff', files('a').dockerArchive, `docker-archive:${badDocker}`], new RegExp(`^slim: error: docker-archive:${badDocker}: manifest\\.json is not JSON`)],
    ] as const) {
      const r = await runSlim([...args], { env: NO_ENGINE });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('slim:'));
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(line);
    }
  });
});
