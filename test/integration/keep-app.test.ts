import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { exportRootfs } from '../helpers/rootfs.js';
import { freePort, runSlim } from '../helpers/slim.js';

const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-keep-app-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

const curl = (port: number, path: string, want: string) => `curl -fsS --max-time 5 http://127.0.0.1:${port}${path} | grep -q '${want}'`;
const all = (...cmds: string[]) => cmds.join(' && ');

interface Case {
  fixture: string;
  /** A readiness check: all a light probe does. */
  light: (port: number) => string;
  /** The full test: pages, templates, assets and modules the light check never touches. */
  full: (port: number) => string;
  /** Other keep flags, and the exit code each gives with the same light trace. */
  also?: { keep: string[]; code: 0 | 3; why: string }[];
  /** Paths only the full test needs, kept by --keep app. */
  keeps?: string[];
}

const cases: Case[] = [
  {
    fixture: 'python-http',
    light: (p) => curl(p, '/health', 'ok'),
    full: (p) => all(curl(p, '/', 'python-http'), curl(p, '/report', 'Report for python-http'), `curl -fsS --max-time 5 -d '{"a":1}' http://127.0.0.1:${p}/api/echo | grep -q echo`),
    also: [
      { keep: [], code: 3, why: 'the trace alone lacks /report: reportlib.py, its template, statistics' },
      { keep: ['--keep-packages'], code: 3, why: "whole packages, but not the app's reportlib.py and template" },
      { keep: ['--keep', 'app'], code: 3, why: "the app's files, but not the standard library module statistics that only /report imports" },
    ],
    keeps: ['/app/reportlib.py', '/app/templates/report.html', '/usr/lib/python3.11/statistics.py'],
  },
  {
    fixture: 'nginx-static',
    light: (p) => curl(p, '/health', 'ok'),
    full: (p) => all(curl(p, '/', 'slim-nginx-ok'), curl(p, '/style.css', 'sans-serif'), `curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:${p}/dot.png`),
    also: [
      { keep: [], code: 3, why: 'nginx answers /health from its config: no page of the site was read' },
      { keep: ['--keep', 'app'], code: 0, why: 'what the light trace lacked were the files the Dockerfile copied' },
    ],
    keeps: ['/srv/site/index.html', '/srv/site/style.css', '/srv/site/dot.png'],
  },
  { fixture: 'node-http', light: (p) => curl(p, '/health', 'ok'), full: (p) => curl(p, '/', 'hello from node-http') },
  // Any request gets the same answer: the light and the full check differ only by path.
  { fixture: 'static-bin', light: (p) => curl(p, '/', 'static-ok'), full: (p) => all(curl(p, '/any/path', 'static-ok'), curl(p, '/', 'static-ok')) },
  { fixture: 'writer-service', light: (p) => curl(p, '/health', 'ok'), full: (p) => all(curl(p, '/health', 'ok'), `curl -fsS --max-time 5 http://127.0.0.1:${p}/count | grep -Eq '^[0-9]+$'`) },
  // It serves one answer; the full check is the same request.
  { fixture: 'probe-view', light: (p) => curl(p, '/', 'view-ok'), full: (p) => curl(p, '/', 'view-ok') },
];

// The light probe is recorded with `slim probe` and the image built from that trace: a build
// that probes also traces its --verify-* checks on the original, which would hide what the light
// trace lacks. From a recorded trace, the full checks test only what the light trace, the closure
// and the presets kept, with repair off.
describe.each(cases)('a light probe of $fixture', (c) => {
  it('--keep app --keep-packages gives an image that passes the full test', async () => {
    const port = freePort();
    const image = fixtureTag(c.fixture);
    const run = ['-e', `PORT=${port}`, '--network', 'host'];
    const trace = join(work, `${c.fixture}-${port}.jsonl`);
    const p = await runSlim(['probe', image, '--trace-out', trace, ...run, '--smoke', c.light(port)]);
    expect(p.code, p.stderr).toBe(0);

    const build = async (keep: string[], name: string) => {
      const tag = `slim-test/${c.fixture}:keep-app-${name}-${port}`;
      madeTags.push(tag);
      const r = await runSlim(['build', image, '--trace', trace, '--no-repair', ...keep, '--tag', tag, ...run, '--smoke', c.light(port), '--verify-smoke', c.full(port), '--json']);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
      return { r, tag };
    };

    const { r, tag } = await build(['--keep', 'app', '--keep-packages'], 'packages');
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(r.report!.repair.result).toBe('not-needed');
    const app = r.report!.closure.presets.app!;
    expect(app).toBeGreaterThan(0);
    expect(r.stderr).toContain(`keep     app ${app}`);
    const fs = await exportRootfs(tag);
    for (const k of c.keeps ?? []) expect(fs.has(k), `${k} kept`).toBe(true);
    // Package-manager state is never the app's (whole packages bring their docs, not the database).
    expect([...fs.keys()].filter((k) => /^\/var\/lib\/(dpkg\/(status|info\/.)|apt\/lists\/.)/.test(k))).toEqual([]);

    for (const a of c.also ?? []) {
      const { r: o } = await build(a.keep, a.keep.join('').replace(/-/g, '') || 'none');
      expect(o.code, `${a.keep.join(' ') || 'no keep flag'}: ${a.why}\n${o.stderr}`).toBe(a.code);
      expect(o.report!.verify.slim).toBe(a.code === 0 ? 'pass' : 'fail');
    }
  });
});
