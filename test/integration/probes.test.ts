import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { exportRootfs } from '../helpers/rootfs.js';
import { parseTraceText } from '../../src/trace/jsonl.js';
import { probeImageTag } from '../../src/probe/probe-image.js';

const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-probes-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

const curl = (port: number, path: string, want: string) => `curl -fsS --max-time 5 http://127.0.0.1:${port}${path} | grep -q '${want}'`;

interface Case {
  name: string;
  fixture: string;
  /** Extra flags; PORT is the port given to this run. */
  args: (port: number) => string[];
  /** Checked on the slim image's files. */
  keeps?: string[];
  /** Verification checks that must have run and passed on both images. */
  checks?: string[];
}

const nginxDaemon = (port: number) =>
  `["/bin/sh","-c","mkdir -p /tmp/nginx && sed s/__PORT__/${port}/ /etc/nginx/nginx.conf.template > /tmp/nginx/nginx.conf && nginx -c /tmp/nginx/nginx.conf && exec sleep infinity"]`;

const cases: Case[] = [
  { name: 'non-root USER (node, module resolution)', fixture: 'node-http', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/', 'hello from node-http')], keeps: ['/app/lib/greet.js'] },
  { name: 'only CMD, interpreted (python)', fixture: 'python-http', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/', 'python-http')] },
  { name: 'only ENTRYPOINT, static binary', fixture: 'static-bin', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/', 'static-ok')], keeps: ['/usr/local/bin/static-server'] },
  { name: 'shell-script entrypoint and forked workers (nginx)', fixture: 'nginx-static', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/', 'slim-nginx-ok')], keeps: ['/docker-entrypoint.sh', '/bin', '/usr/bin/sh', '/usr/bin/dash'] },
  { name: 'an app that daemonises', fixture: 'nginx-static', args: (p) => ['--entrypoint', nginxDaemon(p), '--stop-timeout', '2', '--network', 'host', '--smoke', curl(p, '/style.css', 'sans-serif')], keeps: ['/usr/sbin/nginx', '/srv/site/style.css'] },
  { name: 'an app that writes its own files', fixture: 'writer-service', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/health', 'ok')] },
  { name: 'a read-only root filesystem', fixture: 'python-http', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--smoke', curl(p, '/health', 'ok')] },
  { name: 'a job that exits before the smoke test starts', fixture: 'shell-job', args: () => ['--smoke', 'sleep 1; docker logs "$SLIM_CONTAINER" | grep -q checksum'] },
  { name: 'a target with no libc (static busybox on scratch)', fixture: 'busybox-scratch', args: () => [] },
  { name: 'a job importing ~200 modules (python)', fixture: 'python-imports', args: () => [] },
  { name: 'a non-root server that opens /dev/stderr as its log', fixture: 'probe-view', args: (p) => ['-e', `PORT=${p}`, '--network', 'host', '--smoke', curl(p, '/', 'view-ok')], keeps: ['/usr/local/bin/probe-view'] },
  {
    name: 'a job reaching its files through symlinks (alternatives, /etc/localtime, a soname, conf.d)',
    fixture: 'alternatives-job',
    args: () => [],
    keeps: ['/usr/bin/awk', '/etc/alternatives/awk', '/usr/bin/mawk', '/etc/localtime', '/usr/share/zoneinfo/Europe/Paris', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/etc/svc/conf.d/20-json.ini'],
  },
  { name: 'a job that decides by listing a directory', fixture: 'listing-job', args: () => [], keeps: ['/app/plugins/alpha.sh', '/app/plugins/gamma.sh'] },
  { name: 'a job whose result is the files it writes to its volume', fixture: 'tz-job', args: () => [], checks: ['output /out'] },
];

// Each backend alone must see enough: with repair off, a file the probe missed fails the test
// instead of being repaired away.
describe.each(['strace', 'fanotify', 'both'] as const)('probe %s, no repair', (backend) => {
  it.each(cases)('$name', async (c) => {
    const port = freePort();
    const tag = `slim-test/${c.fixture}:${backend}-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', fixtureTag(c.fixture), '--probe', backend, '--no-repair', '--tag', tag, ...c.args(port), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.probe.backend).toBe(backend);
    expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(r.report!.repair).toMatchObject({ result: 'not-needed', added: [] });
    for (const name of c.checks ?? []) expect(r.report!.verify.checks.find((x) => x.name === name), name).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    const fs = await exportRootfs(tag);
    for (const k of c.keeps ?? []) expect(fs.has(k), `${k} kept`).toBe(true);
    // Neither the probe nor its capability reaches the slim image.
    expect([...fs.keys()].some((p) => p.startsWith('/.slim-probe') || p.startsWith('/.slim-out'))).toBe(false);
    const cfg = JSON.parse(docker(['image', 'inspect', tag]))[0];
    expect(JSON.stringify(cfg.Config)).not.toMatch(/SYS_ADMIN|SYS_PTRACE|slim-sensor/);
  });
});

describe('the probe image', () => {
  it('building it leaves no untagged build-stage image behind', () => {
    // The probe image was built (or found) by the global setup; its build stage images carry this label.
    expect(docker(['images', '-q', '--filter', 'dangling=true', '--filter', 'label=io.slim.probe-build-stage=1'])).toBe('');
    expect(docker(['images', '-q', probeImageTag()]).trim()).not.toBe('');
  });
});

describe('the trace', () => {
  it('slim probe writes a trace that slim build reuses without probing', async () => {
    const port = freePort();
    const trace = join(work, `t-${port}.jsonl`);
    const args = ['-e', `PORT=${port}`, '--network', 'host', '--smoke', curl(port, '/health', 'ok')];
    const p = await runSlim(['probe', fixtureTag('python-http'), '--probe', 'both', '--trace-out', trace, ...args, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const { records, badLines } = await parseTraceText(readFileSync(trace, 'latin1'));
    expect(badLines).toBe(0);
    expect(records.some((x) => x.via === 'fanotify' && x.op === 'exec')).toBe(true);
    expect(records.some((x) => x.via === 'strace' && x.op === 'stat')).toBe(true);
    expect(records.some((x) => x.path.startsWith('/.slim-probe'))).toBe(true); // recorded, then filtered when packing
    const tag = `slim-test/python-http:from-trace-${port}`;
    madeTags.push(tag);
    const b = await runSlim(['build', fixtureTag('python-http'), '--trace', trace, '--tag', tag, ...args, '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/probe container/);
    expect(b.report!.probe.backend).toBe('trace-file');
    expect(b.report!.verify.slim).toBe('pass');
  });

  it('auto picks both when the engine grants both capabilities, and says so', async () => {
    const tag = `slim-test/busybox-scratch:auto-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', fixtureTag('busybox-scratch'), '--tag', tag, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.probe.backend).toBe('both');
    expect(r.stderr).toMatch(/probe: both \(auto: the engine grants SYS_ADMIN and SYS_PTRACE\)/);
  });
});
