import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, uniqueSource } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { exportRootfs } from '../helpers/rootfs.js';

const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-verify-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

function spec(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

/** python-http run on the host network at its own port. */
function pythonArgs(port: number, tag: string): string[] {
  return ['build', fixtureTag('python-http'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--json'];
}

const REPORT_SPEC = `
requests:
  - path: /report
    status: 200
    contains: Report for python-http
`;

describe('verification with checks the user brings', () => {
  it('a light probe with a verification request of its own: the baseline runs under the probe, so the slim image holds what only that request uses', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:verified-${port}`;
    madeTags.push(tag);
    const r = await runSlim([...pythonArgs(port, tag), '--http-probe', 'GET /', '--verify-http-spec', spec('report.yaml', REPORT_SPEC)]);
    expect(r.stderr).not.toMatch(/internal error/);
    // Engine streams let go of the run's abort signal when they close; a run opens many.
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report!;
    expect(rep.status).toBe('ok');
    expect(r.stderr).toMatch(/verifying the original under the probe/);
    expect(rep.repair).toMatchObject({ result: 'not-needed', rounds: 0 });
    expect(rep.verify.checks.find((c) => c.name === 'GET /report')).toMatchObject({ original: 'pass', slim: 'pass' });
    // The template and the lazily imported modules, which GET / never touches, are there.
    const fs = await exportRootfs(tag);
    expect(fs.has('/app/templates/report.html')).toBe(true);
    expect(fs.has('/app/reportlib.py')).toBe(true);
    expect(fs.has('/usr/lib/python3.11/statistics.py')).toBe(true);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('repairs a slim image built from a light trace, names what it added and the --include flags that keep it', async () => {
    const port = freePort();
    const trace = join(work, `light-${port}.jsonl`);
    const p = await runSlim(['probe', fixtureTag('python-http'), '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /', '--trace-out', trace]);
    expect(p.code, p.stderr).toBe(0);
    const tag = `slim-test/python-http:repaired-${port}`;
    madeTags.push(tag);
    const r = await runSlim([...pythonArgs(port, tag), '--trace', trace, '--http-probe', 'GET /', '--verify-http-spec', spec('report-r.yaml', REPORT_SPEC)]);
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report!;
    expect(rep.repair).toMatchObject({ result: 'repaired', rounds: 1 });
    const added = rep.repair.added.map((a) => a.path);
    expect(added).toContain('/app/templates/report.html');
    expect(rep.repair.added.find((a) => a.path === '/app/templates/report.html')!.neededBy).toEqual(['GET /report']);
    expect(r.stderr).toMatch(/repair\s+repaired after 1 round/);
    expect(r.stderr).toMatch(/--include \/app\//);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('--no-repair: a build from the same light trace fails verification, says which check, and tags nothing', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:unrepaired-${port}`;
    // A name of its own makes the slim image's provenance, and so its digest, unique to this test:
    // another test's identical (and tagged) image must not stand in for it.
    const source = uniqueSource('python-http', port);
    madeTags.push(source);
    const trace = join(work, `light-nr-${port}.jsonl`);
    const p = await runSlim(['probe', source, '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /', '--trace-out', trace]);
    expect(p.code, p.stderr).toBe(0);
    const args = pythonArgs(port, tag);
    args[1] = source;
    // Built from the light trace alone: nothing traced the verification request.
    const r = await runSlim([...args, '--trace', trace, '--http-probe', 'GET /', '--verify-http-spec', spec('report2.yaml', REPORT_SPEC), '--no-repair']);
    expect(r.code, r.stderr).toBe(3);
    const rep = r.report!;
    expect(rep.status).toBe('verify-failed');
    expect(rep.repair).toMatchObject({ result: 'off', rounds: 0, added: [] });
    const check = rep.verify.checks.find((c) => c.name === 'GET /report')!;
    expect(check).toMatchObject({ original: 'pass', slim: 'fail' });
    expect(check.detail).toMatch(/status 500/);
    expect(rep.output.ref).toBeNull();
    expect(() => docker(['image', 'inspect', tag])).toThrow();
    expect(() => docker(['image', 'inspect', rep.output.id])).toThrow();
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('stops with the baseline message when a verification check fails on the original', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:baseline-${port}`;
    const r = await runSlim([...pythonArgs(port, tag), '--http-probe', 'GET /', '--verify-http-probe', 'GET /no-such-page']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: the check fails on the original image without the probe too \(GET \/no-such-page: .*status 404, expected 2xx\); nothing to compare/);
    expect(() => docker(['image', 'inspect', tag])).toThrow();
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('HTTP spec files check method, headers, JSON body and fields; --exec runs inside and is traced', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:spec-${port}`;
    madeTags.push(tag);
    const echo = spec('echo.json', JSON.stringify([
      { name: 'echo', method: 'POST', path: '/api/echo', headers: { 'X-Token': 'abc' }, body: { a: 1, list: ['x'] }, status: 200, json: { 'echo.a': 1, 'echo.list.0': 'x', token: 'abc' } },
      { path: '/nope', status: 404, contains: 'not found' },
    ]));
    // The exec check imports modules the server never does: if it were not traced, the slim image would fail it.
    const selfCheck = `python3 -c "import decimal, fractions; print(fractions.Fraction(decimal.Decimal('0.5')))"`;
    const r = await runSlim([...pythonArgs(port, tag), '--http-spec', echo, '--exec', selfCheck, '--no-repair']);
    expect(r.code, r.stderr).toBe(0);
    const checks = r.report!.verify.checks;
    expect(checks.map((c) => c.name.slice(0, 31))).toEqual(['POST /api/echo', 'GET /nope', 'exec: python3 -c import decimal', 'HEALTHCHECK']);
    for (const c of checks) expect(c, c.name).toMatchObject({ original: 'pass', slim: 'pass' });
    const fs = await exportRootfs(tag);
    expect(fs.has('/usr/lib/python3.11/fractions.py')).toBe(true);
  });

  it('a spec expectation that the answer does not meet fails the probe run with what differed', async () => {
    const port = freePort();
    const bad = spec('bad.yaml', 'requests:\n  - {method: POST, path: /api/echo, body: {a: 2}, json: {"echo.a": 1}}\n');
    const r = await runSlim([...pythonArgs(port, `slim-test/python-http:bad-${port}`), '--http-spec', bad, '--smoke-timeout', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: the checks did not pass on the original image: POST \/api\/echo: did not pass .*echo\.a is 2, expected 1/);
  });

  it('a job: the same exit code, stdout and output files; a difference in an output file fails it', async () => {
    const image = fixtureTag('shell-job');
    const tag = `slim-test/shell-job:out-${freePort()}`;
    madeTags.push(tag);
    const same = await runSlim(['build', image, '--tag', tag, '--entrypoint', '["/bin/sh","-c","mkdir -p /out && /usr/local/bin/job.sh > /out/report.txt && sha256sum /data/words.txt > /out/sum"]', '--compare-output', '/out', '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.report!.verify.checks.map((c) => [c.name, c.slim])).toEqual([['exit code', 'pass'], ['stdout', 'pass'], ['output /out', 'pass']]);
    expect(same.report!.verify.checks[2]!.detail).toMatch(/the same 3 entries/);

    // A listing of a package-owned directory depends on entries the job never opens, and the
    // closure does not expand such directories: kept directory, dropped entries, different output.
    const lsJob = ['--entrypoint', '["/bin/sh","-c","mkdir -p /out && ls /usr/share/doc > /out/list"]', '--compare-output', '/out', '--json'];
    const listing = await runSlim(['build', image, '--tag', `${tag}-ls`, '--no-repair', ...lsJob]);
    expect(listing.code, listing.stderr).toBe(3);
    const out = listing.report!.verify.checks.find((c) => c.name === 'output /out')!;
    expect(out).toMatchObject({ original: 'pass', slim: 'fail' });
    expect(out.detail).toMatch(/out\/list differs/);
    expect(listing.report!.repair.result).toBe('off');
    expect(leftovers(listing.runId)).toEqual({ containers: [], volumes: [] });

    // Repair: no failed lookup and nothing the original touched names an entry; the listing does.
    const repaired = await runSlim(['build', image, '--tag', `${tag}-ls2`, ...lsJob]);
    madeTags.push(`${tag}-ls2`);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.report!.repair).toMatchObject({ result: 'repaired', rounds: 1 });
    expect(repaired.report!.repair.added.map((a) => a.path)).toContain('/usr/share/doc/coreutils');
    expect(leftovers(repaired.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('--compare-output of a path the job never writes is a baseline failure', async () => {
    const r = await runSlim(['build', fixtureTag('shell-job'), '--tag', `slim-test/shell-job:none-${freePort()}`, '--compare-output', '/nowhere']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the job left nothing at \/nowhere/);
  });
});
