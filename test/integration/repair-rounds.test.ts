import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { exportRootfs } from '../helpers/rootfs.js';
import { freePort, runSlim } from '../helpers/slim.js';

// What users run: a light probe (a readiness check) and their full test as --verify-* checks.
// lazy-app's full test needs a template, a static asset, a chain of lazily imported modules and a
// data file, none of which its readiness check touches.
const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-repair-rounds-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

const FULL = ['/page', '/static/site.css', '/quote', '/stock'];
const NEEDED = ['/app/templates/page.html', '/app/static/site.css', '/app/shop/__init__.py', '/app/shop/pricing/__init__.py', '/app/shop/pricing/rates.py', '/app/data/stock.csv'];
const light = (port: number) => ['-e', `PORT=${port}`, '--http-port', String(port), '--network', 'host', '--smoke', `curl -fsS --max-time 5 http://127.0.0.1:${port}/health | grep -q ok`];
const full = FULL.flatMap((p) => ['--verify-http-probe', `GET ${p}`]);

describe('a light probe with a full verification suite', () => {
  it('verifies the original under the probe first: the first slim image already holds what the full checks touch', async () => {
    const port = freePort();
    const tag = `slim-test/lazy-app:baseline-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', fixtureTag('lazy-app'), '--tag', tag, '--no-repair', ...light(port), ...full, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/verifying the original under the probe/);
    expect(r.report!.repair).toMatchObject({ result: 'not-needed', rounds: 0 });
    for (const p of FULL) expect(r.report!.verify.checks.find((c) => c.name === `GET ${p}`), p).toMatchObject({ original: 'pass', slim: 'pass' });
    const fs = await exportRootfs(tag);
    for (const p of NEEDED) expect(fs.has(p), p).toBe(true);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('repairs in one round what a light trace missed: every file the failing checks need, named with the check', async () => {
    const port = freePort();
    const trace = join(work, `light-${port}.jsonl`);
    const p = await runSlim(['probe', fixtureTag('lazy-app'), ...light(port), '--trace-out', trace]);
    expect(p.code, p.stderr).toBe(0);
    const tag = `slim-test/lazy-app:one-round-${port}`;
    madeTags.push(tag);
    // A trace given with --trace is all the probing there is: what it lacks, repair must find.
    const r = await runSlim(['build', fixtureTag('lazy-app'), '--trace', trace, '--tag', tag, '--repair-rounds', '1', ...light(port), ...full, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.repair).toMatchObject({ result: 'repaired', rounds: 1 });
    const added = r.report!.repair.added;
    for (const path of NEEDED) expect(added.map((a) => a.path), path).toContain(path);
    expect(added.find((a) => a.path === '/app/shop/pricing/rates.py')!.neededBy).toContain('GET /quote');
    expect(r.report!.repair.note).toMatch(/added in 1 round/);
    expect(r.stderr).toMatch(/repair\s+repaired after 1 round/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a verification check that takes longer than 15 s passes on the slim image: its time comes from the baseline run', async () => {
    const port = freePort();
    const tag = `slim-test/lazy-app:slow-${port}`;
    madeTags.push(tag);
    // Ready at once, then a suite of 17 s: readiness alone would give the slim image 15 s.
    const suite = `sleep 17 && curl -fsS --max-time 5 http://127.0.0.1:${port}/quote | grep -q 2.50`;
    const r = await runSlim(['build', fixtureTag('lazy-app'), '--tag', tag, '--no-repair', ...light(port), '--verify-http-probe', 'GET /health', '--verify-smoke', suite, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const check = r.report!.verify.checks.find((c) => c.name.startsWith('smoke: sleep 17'));
    expect(check, JSON.stringify(r.report!.verify.checks)).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });
});
