import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages, requireEngine } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { exportRootfs } from '../helpers/rootfs.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort, runSlim, type SlimRun } from '../helpers/slim.js';
import type { FleetReport } from '../../src/fleet/fleet-build.js';

/**
 * `slim fleet build` on four fixtures (two Python ones, two shell jobs): each image becomes
 * [shared…, own] with exactly the files of its single-layer build, passes its checks, and the
 * fleet costs a node less to pull; shared blobs are mounted across registry repositories.
 */

const work = mkdtempSync(join(tmpdir(), 'slim-fleet-test-'));
const tags: string[] = [];
let reg: TestRegistry;
let run: SlimRun;
let report: FleetReport;
const port = freePort();
const names = ['python-http', 'python-imports', 'shell-job', 'alternatives-job'];
const tagOf = (n: string) => `slim-test/fleet-${n}:${port}`;

beforeAll(async () => {
  requireEngine();
  reg = await startRegistry();
  const file = join(work, 'slim-fleet.yaml');
  writeFileSync(file, [
    'options:',
    '  network: host',
    'share:',
    '  min-savings: 100kB',
    'images:',
    `  - image: ${fixtureTag('python-http')}`,
    `    tag: ${tagOf('python-http')}`,
    `    env: [PORT=${port}]`,
    `    http-port: ${port}`,
    '    http-probe: [GET /health]',
    `    output: [docker, 'registry:${reg.host}/fleet/python-http:1']`,
    `  - image: ${fixtureTag('python-imports')}`,
    `    tag: ${tagOf('python-imports')}`,
    `    output: [docker, 'registry:${reg.host}/fleet/python-imports:1']`,
    `  - image: ${fixtureTag('shell-job')}`,
    `    tag: ${tagOf('shell-job')}`,
    `  - image: ${fixtureTag('alternatives-job')}`,
    `    tag: ${tagOf('alternatives-job')}`,
  ].join('\n'));
  for (const n of names) tags.push(tagOf(n), `${tagOf(n)}-single`);
  const singles = join(work, 'singles');
  execFileSync('mkdir', ['-p', singles]);
  run = await runSlim(['fleet', 'build', file, '--singles', singles, '--json']);
  expect(run.code, run.stderr).toBe(0);
  report = JSON.parse(run.stdout) as FleetReport;
  for (const i of names.keys()) docker(['load', '-i', join(singles, `${i}.tar`)]);
}, 900_000);
afterAll(async () => {
  removeImages(tags);
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('slim fleet build', () => {
  it('every image passes its checks as layers and holds exactly the files of its single-layer build', async () => {
    expect(report.status).toBe('ok');
    for (const [i, n] of names.entries()) {
      const im = report.images[i]!;
      expect(im.layered.verify, im.layered.summary).toBe('pass');
      const [layered, single] = await Promise.all([exportRootfs(tagOf(n)), exportRootfs(`${tagOf(n)}-single`)]);
      expect([...layered.keys()].sort(), n).toEqual([...single.keys()].sort());
      for (const [path, e] of single) expect(layered.get(path), `${n}: ${path}`).toEqual(e);
      const inspect = JSON.parse(docker(['image', 'inspect', tagOf(n)]))[0];
      expect(inspect.RootFS.Layers).toHaveLength(im.layered.layers.length);
      expect(JSON.parse(docker(['image', 'inspect', `${tagOf(n)}-single`]))[0].RootFS.Layers).toHaveLength(1);
    }
  });

  it('shares layers only among the images that hold their files, and a node pulls less than the single layers', () => {
    expect(report.shared.length).toBeGreaterThan(0);
    for (const s of report.shared) {
      expect(s.images.length).toBeGreaterThanOrEqual(2);
      for (const [i, n] of names.entries()) expect(report.images[i]!.layered.layers.includes(s.digest), n).toBe(s.images.includes(fixtureTag(n)));
    }
    // The two Python images share the interpreter's files; every image the loader and libc.
    expect(report.shared.some((s) => s.images.length === 2 && s.images.includes(fixtureTag('python-http')) && s.images.includes(fixtureTag('python-imports')))).toBe(true);
    expect(report.pull.fleet).toBeLessThan(report.pull.single);
    expect(report.pull.single).toBe(report.images.reduce((n, im) => n + im.single.layerBytes, 0));
    expect(run.stderr).toMatch(/auto: one base for all [\d.]+ MB in \d+ shared layer\(s\), a tree of bases [\d.]+ MB in \d+, single layers [\d.]+ MB; (tree|one-base) pulls least/);
  });

  it('the layered images run as the originals do, and the second push mounts the shared blobs instead of uploading them', () => {
    const out = (image: string) => docker(['run', '--rm', '--network', 'none', image]);
    expect(out(tagOf('shell-job'))).toBe(out(fixtureTag('shell-job')));
    const [first, second] = [report.images[0]!.layered.pushed[0]!, report.images[1]!.layered.pushed[0]!];
    expect(first.blobs.mounted).toBe(0);
    const sharedByBoth = report.shared.filter((s) => s.images.includes(fixtureTag('python-http')) && s.images.includes(fixtureTag('python-imports'))).length;
    expect(second.blobs.mounted).toBe(sharedByBoth);
    const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/fleet/python-imports:1`], { encoding: 'utf8' })) as { layers: { digest: string }[] };
    expect(manifest.layers.map((l) => l.digest)).toEqual(report.images[1]!.layered.layers);
    // Each image's build labels what it makes with RUN-N; its run tags are slim-run/RUN-N:…
    for (const i of names.keys()) expect(leftovers(`${run.runId}-${i}`)).toEqual({ containers: [], volumes: [] });
    expect(leftovers(run.runId)).toEqual({ containers: [], volumes: [] });
    expect(docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=slim-run/${run.runId}*`]).trim()).toBe('');
  });
});
