import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { NO_PACKAGE, type DiffReport } from '../../src/inspect/diff.js';
import { cycloneDxErrors } from '../helpers/cyclonedx.js';
import { exportRootfs, subsetProblems } from '../helpers/rootfs.js';

const madeTags: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'slim-build-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(scratch, { recursive: true, force: true });
});

function curlSmoke(port: number, path: string, expect: string): string {
  return `curl -fsS --max-time 5 http://127.0.0.1:${port}${path} | grep -q '${expect}'`;
}

/** Every file in the slim image exists in the original with the same content, type, mode and owner. */
async function expectFaithfulSubset(original: string, slim: string): Promise<{ slimFiles: number }> {
  const [orig, thin] = await Promise.all([exportRootfs(original), exportRootfs(slim)]);
  const { problems, files } = subsetProblems(orig, thin);
  expect(problems).toEqual([]);
  return { slimFiles: files };
}

interface ServiceCase {
  fixture: string;
  path: string;
  expect: string;
  minRatio: number;
}

const services: ServiceCase[] = [
  { fixture: 'python-http', path: '/health', expect: 'ok', minRatio: 5 },
  { fixture: 'nginx-static', path: '/', expect: 'slim-nginx-ok', minRatio: 5 },
  { fixture: 'node-http', path: '/health', expect: 'ok', minRatio: 2.5 },
  { fixture: 'static-bin', path: '/', expect: 'static-ok', minRatio: 5 },
];

describe('slim build on real fixtures', () => {
  it.each(services)('$fixture: a working, faithful, much smaller image', async (c) => {
    const image = fixtureTag(c.fixture);
    const port = freePort();
    const tag = `slim-test/${c.fixture}:slim-${port}`;
    madeTags.push(tag);
    const sbomFile = join(scratch, `${c.fixture}.cdx.json`);
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, c.path, c.expect), '--json', '--sbom', sbomFile]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report!;
    expect(rep.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    // python-http's HEALTHCHECK uses urllib, which the server never imports: run under the probe, it is kept.
    if (c.fixture === 'python-http') expect(rep.verify.healthcheck).toEqual({ original: 'pass', slim: 'pass' });
    expect(rep.output.ref).toBe(tag);
    expect(rep.input.ref).toBe(image);
    expect(rep.input.size / rep.output.size).toBeGreaterThanOrEqual(c.minRatio);
    for (const k of ['probe', 'pack', 'verify', 'total'] as const) expect(rep.timings[k]).toBeGreaterThan(0);
    // The tag points at the image the report names, built FROM scratch: one layer.
    const inspected = JSON.parse(docker(['image', 'inspect', tag]))[0];
    expect(inspected.Id).toBe(rep.output.id);
    expect(inspected.RootFS.Layers).toHaveLength(1);
    const { slimFiles } = await expectFaithfulSubset(image, tag);
    expect(slimFiles).toBe(rep.output.files);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });

    // slim diff of the original and its slim variant agrees with the build's report and SBOM.
    const d = await runSlim(['diff', image, tag, '--json']);
    expect(d.code, d.stderr).toBe(0);
    const diff = JSON.parse(d.stdout) as DiffReport;
    expect(diff.b.files).toBe(rep.output.files);
    expect(diff.added.files + diff.changed.files).toBe(0);
    expect(diff.removed.files + diff.unchanged.files).toBe(diff.a.files);
    const sbomText = readFileSync(sbomFile, 'utf8');
    expect(await cycloneDxErrors(sbomText)).toBeNull();
    const sbom = JSON.parse(sbomText) as { components: { name: string }[] };
    expect(sbom.components).toHaveLength(rep.sbom.packages);
    const keptByDiff = (diff.packages ?? []).filter((p) => p.filesKept > 0 && p.name !== NO_PACKAGE).map((p) => p.name);
    // The diff counts a file for the first package that lists it, the SBOM for all of them.
    expect(sbom.components.map((x) => x.name)).toEqual(expect.arrayContaining(keptByDiff));
    if (rep.sbom.packages > 0) expect(keptByDiff.length).toBeGreaterThan(0);
  });

  it('carries the original config over', async () => {
    const image = fixtureTag('python-http');
    const port = freePort();
    const tag = `slim-test/python-http:config-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, '/health', 'ok')]);
    expect(r.code, r.stderr).toBe(0);
    const before = JSON.parse(docker(['image', 'inspect', image]))[0].Config;
    const after = JSON.parse(docker(['image', 'inspect', tag]))[0].Config;
    for (const k of ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck']) {
      expect(after[k], k).toEqual(before[k]);
    }
    for (const [k, v] of Object.entries(before.Labels ?? {})) expect(after.Labels[k]).toBe(v);
    expect(after.Labels['io.slim.source.name']).toBe(image);
    expect(after.Labels['io.slim.source.digest']).toBe(JSON.parse(docker(['image', 'inspect', image]))[0].Id);
  });
});

describe('what trace-based slimming must not break', () => {
  it('does not bake run-time files into the image and keeps directory owners and modes', async () => {
    const image = fixtureTag('writer-service');
    const port = freePort();
    const tag = `slim-test/writer-service:slim-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, '/health', 'ok'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fs = await exportRootfs(tag);
    expect(fs.has('/var/lib/writer/state.db')).toBe(false);
    expect(fs.has('/var/lib/writer/app.pid')).toBe(false);
    expect(fs.get('/var/lib/writer')).toMatchObject({ type: 'directory', uid: 1001, gid: 1001, mode: 0o750 });
    expect(fs.get('/var/lib/writer/spool')).toMatchObject({ type: 'directory', uid: 1001, mode: 0o700 });
    const orig = await exportRootfs(image);
    expect(fs.get('/var/lib/writer/counter')?.sha256).toBe(orig.get('/var/lib/writer/counter')?.sha256);
    await expectFaithfulSubset(image, tag);
  });

  it('keeps what the user asks: whole packages, presets, programs and globs, and leaves out what they exclude', async () => {
    const image = fixtureTag('python-http');
    const port = freePort();
    const tag = `slim-test/python-http:keep-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, '/health', 'ok'),
      '--keep-packages', '--keep', 'python,tz', '--include-bin', 'perl', '--include', '/etc/*.conf', '--exclude', '/usr/share/doc/**', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = r.report!.closure;
    expect(c.packages).toEqual(expect.arrayContaining(['libc6', 'python3.11-minimal', 'libpython3.11-stdlib']));
    expect(c.presets.python).toBeGreaterThan(500);
    expect(c.presets.tz).toBeGreaterThan(500); // tzdata comes with Python's stdlib package
    expect(c.excluded).toBeGreaterThan(0);
    const fs = await exportRootfs(tag);
    expect(fs.has('/usr/lib/python3.11/statistics.py')).toBe(true); // never imported: kept by the preset and the package
    expect(fs.has('/etc/adduser.conf')).toBe(true);
    expect(fs.get('/usr/share/zoneinfo/Europe/Paris')?.type).toBe('file');
    expect([...fs.keys()].filter((p) => p.startsWith('/usr/share/doc/') && fs.get(p)!.type === 'file')).toEqual([]);
    expect(docker(['run', '--rm', '--entrypoint', 'perl', tag, '-e', 'print 6*7'])).toBe('42');
    await expectFaithfulSubset(image, tag);
  });

  it('an --exclude that breaks the app: verification fails, repair says the path is excluded and stops', async () => {
    const image = fixtureTag('python-http');
    const port = freePort();
    const r = await runSlim(['build', image, '--tag', `slim-test/python-http:excluded-${port}`, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, '/health', 'ok'), '--exclude', '/usr/lib/python3.11/json/**', '--json']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.report!.repair.result).toBe('failed');
    expect(r.report!.repair.note).toMatch(/kept out by --exclude: \/usr\/lib\/python3\.11\/json/);
    // The first round already sees that all it found is excluded: no second round to learn it.
    expect(r.report!.repair.rounds).toBe(1);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('keeps file capabilities byte for byte (security.capability holds a byte 0x80 here)', async () => {
    const image = fixtureTag('static-bin');
    const port = freePort();
    const tag = `slim-test/static-bin:caps-${port}`;
    expect(docker(['run', '--rm', '--entrypoint', 'getcap', image, '/usr/local/bin/static-server'])).toMatch(/cap_setuid,cap_net_bind_service=ep/);
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curlSmoke(port, '/', 'static-ok')]);
    expect(r.code, r.stderr).toBe(0);
    // GNU tar and getcap, tools we did not write, read the capability out of the slim layer.
    const dir = mkdtempSync(join(tmpdir(), 'slim-caps-'));
    try {
      execFileSync('sh', ['-c', `docker save ${tag} | tar -x -C ${dir} && for l in $(cd ${dir} && ls */layer.tar blobs/sha256/* 2>/dev/null); do tar --xattrs --xattrs-include='*' -xf ${dir}/$l -C ${dir} usr/local/bin/static-server 2>/dev/null && break; done`]);
      expect(execFileSync('getcap', [join(dir, 'usr/local/bin/static-server')], { encoding: 'utf8' })).toMatch(/cap_setuid,cap_net_bind_service=ep/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probes a job until it exits and verifies its exit code and output', async () => {
    const image = fixtureTag('shell-job');
    const tag = `slim-test/shell-job:slim-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(r.report!.verify.details.slim).toMatch(/same output/);
    const a = docker(['run', '--rm', image]);
    const b = docker(['run', '--rm', tag]);
    expect(b).toBe(a);
    expect(a.length).toBeGreaterThan(0);
    expect(r.report!.input.size / r.report!.output.size).toBeGreaterThan(5);
  });

  it('reports a job that fails under the probe as a failure, never as success', async () => {
    const image = fixtureTag('shell-job');
    const tag = `slim-test/shell-job:never-${freePort()}`;
    const r = await runSlim(['build', image, '--tag', tag, '-e', 'FAIL=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: the job failed on the original image under the probe: exit code 3/);
    expect(() => docker(['image', 'inspect', tag])).toThrow();
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('slims an image with no libc and no shell of its own', async () => {
    const image = fixtureTag('busybox-scratch');
    const tag = `slim-test/busybox-scratch:slim-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', image, '--tag', tag, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(docker(['run', '--rm', tag])).toBe(docker(['run', '--rm', image]));
  });

  it('runs two builds of one image at once without collisions', async () => {
    const image = fixtureTag('python-http');
    const [p1, p2] = [freePort(), freePort()];
    const tags = [`slim-test/python-http:par-${p1}`, `slim-test/python-http:par-${p2}`];
    madeTags.push(...tags);
    const runs = await Promise.all(
      [p1, p2].map((p, i) => runSlim(['build', image, '--tag', tags[i]!, '--network', 'host', '-e', `PORT=${p}`, '--smoke', curlSmoke(p, '/health', 'ok'), '--json'])),
    );
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    }
  });
});
