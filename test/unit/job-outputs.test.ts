import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMountSpec, jobOutputPaths, parseMountSpec } from '../../src/pipeline/run-mounts.js';
import { describeCheck, outputPaths, withMountOutputs, type Check } from '../../src/verify/checks.js';
import { readOutputTree } from '../../src/verify/output-tree.js';
import { baselineFailure, compareRuns, type Checked } from '../../src/pipeline/verify-run.js';
import { copyTree } from '../../src/util/copy-tree.js';
import tar from 'tar-stream';

const work = mkdtempSync(join(tmpdir(), 'slim-job-outputs-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('docker run -v specs', () => {
  it('tells binds, named volumes and anonymous volumes apart, and read-only ones', () => {
    expect(parseMountSpec('/srv/out:/out')).toEqual({ kind: 'bind', source: '/srv/out', target: '/out', options: [], readOnly: false });
    expect(parseMountSpec('/srv/in:/in:ro')).toMatchObject({ kind: 'bind', readOnly: true });
    expect(parseMountSpec('/srv/in:/in:ro,z')).toMatchObject({ options: ['ro', 'z'], readOnly: true });
    expect(parseMountSpec('results:/out/:rw,nocopy')).toEqual({ kind: 'volume', source: 'results', target: '/out', options: ['rw', 'nocopy'], readOnly: false });
    expect(parseMountSpec('/cache')).toEqual({ kind: 'anonymous', target: '/cache', options: [], readOnly: false });
  });
  it('formats a spec back with a new source, options kept', () => {
    expect(formatMountSpec({ ...parseMountSpec('/srv/out:/out:z'), source: '/tmp/x/copy' })).toBe('/tmp/x/copy:/out:z');
    expect(formatMountSpec(parseMountSpec('/cache'))).toBe('/cache');
  });
});

describe("a job's output paths", () => {
  it('every writable bind and volume, and the VOLUMEs no mount covers; not read-only mounts or tmpfs', () => {
    expect(jobOutputPaths(['/h/out:/out', '/h/in:/in:ro', 'vol:/data', '/cache'], [], [])).toEqual(['/out', '/data', '/cache']);
    expect(jobOutputPaths([], ['/out', '/var/lib/x/'], [])).toEqual(['/out', '/var/lib/x']);
    // A read-only mount over a VOLUME: nothing can be written there.
    expect(jobOutputPaths(['/h/seed:/out:ro'], ['/out'], [])).toEqual([]);
    expect(jobOutputPaths(['/h/out:/out'], ['/out'], [])).toEqual(['/out']);
    expect(jobOutputPaths([], ['/scratch'], ['/scratch'])).toEqual([]);
  });
  it('join a job check after --compare-output, once each; a service has none', () => {
    const job: Check = { kind: 'job', compareOutputs: ['/out'] };
    const withMounts = withMountOutputs(job, ['/out', '/data']);
    expect(withMounts).toEqual({ kind: 'job', compareOutputs: ['/out'], mountOutputs: ['/data'] });
    expect(outputPaths(withMounts as Check & { kind: 'job' })).toEqual(['/out', '/data']);
    expect(describeCheck(withMounts)).toBe('job: until it exits, then compare /out, /data');
    expect(withMountOutputs({ kind: 'job', compareOutputs: [] }, [])).toEqual({ kind: 'job', compareOutputs: [] });
    const svc: Check = { kind: 'service', checks: [], timeoutSeconds: 5 };
    expect(withMountOutputs(svc, ['/out'])).toBe(svc);
  });
});

describe('comparing mount outputs', () => {
  const run = (r: Partial<Checked>): Checked => ({ passed: true, summary: '', checks: [], exitCode: 0, stdout: Buffer.from(''), stderr: Buffer.from(''), output: Buffer.from(''), outputs: new Map(), seconds: 1, health: { result: 'none', detail: '' }, ...r });
  const job: Check = { kind: 'job', compareOutputs: [], mountOutputs: ['/out'] };
  it('fails on the first differing path, named in full', () => {
    const tree = new Map([['/out', 'directory 755'], ['/out/when.txt', 'file 644 29 a'], ['/out/zone.txt', 'file 644 4 b']]);
    const slim = new Map([['/out', 'directory 755'], ['/out/when.txt', 'file 644 29 c'], ['/out/zone.txt', 'file 644 4 d']]);
    const v = compareRuns(job, run({ outputs: new Map([['/out', tree]]) }), run({ outputs: new Map([['/out', slim]]) }));
    expect(v).toMatchObject({ passed: false, summary: 'output /out: /out/when.txt differs (content); /out/zone.txt differs (content)' });
    expect(v.checks.map((c) => c.name)).toEqual(['exit code', 'stdout', 'output /out']);
  });
  it('a mount need not exist for the baseline; absent on both passes', () => {
    const original = run({ outputs: new Map([['/out', undefined]]) });
    expect(baselineFailure(job, original)).toBeUndefined();
    expect(compareRuns(job, original, run({ outputs: new Map([['/out', undefined]]) })).checks[2]).toMatchObject({ slim: 'pass', detail: 'absent on both' });
    expect(compareRuns(job, original, run({ outputs: new Map([['/out', new Map([['/out/x', 'file 644 1 a']])]]) })).summary).toBe('output /out: /out/x is extra');
  });
  it('archive entries are named by their path in the container', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'out/', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'out/a.txt', mode: 0o640 }, 'hi');
    pack.finalize();
    const archive = Readable.from(pack);
    expect([...(await readOutputTree(archive, '/out/'))]).toEqual([['/out', 'directory 755'], ['/out/a.txt', expect.stringMatching(/^file 640 2 /)]]);
  });
});

describe('copying a mounted directory', () => {
  it('keeps modes, owners and symlinks verbatim, and follows none', () => {
    const src = join(work, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'a.txt'), 'a');
    chmodSync(join(src, 'sub', 'a.txt'), 0o4750);
    chmodSync(join(src, 'sub'), 0o700);
    writeFileSync(join(work, 'outside'), 'secret');
    symlinkSync(join(work, 'outside'), join(src, 'escape'));
    symlinkSync('sub/a.txt', join(src, 'rel'));
    const root = process.getuid?.() === 0;
    if (root) chownSync(join(src, 'sub', 'a.txt'), 1234, 4321);
    if (root) chmodSync(join(src, 'sub', 'a.txt'), 0o4750);
    return copyTree(src, join(work, 'dest')).then(() => {
      const dest = join(work, 'dest');
      const a = lstatSync(join(dest, 'sub', 'a.txt'));
      expect(a.mode & 0o7777).toBe(0o4750);
      expect(lstatSync(join(dest, 'sub')).mode & 0o7777).toBe(0o700);
      if (root) expect([a.uid, a.gid]).toEqual([1234, 4321]);
      expect(readFileSync(join(dest, 'sub', 'a.txt'), 'utf8')).toBe('a');
      expect(lstatSync(join(dest, 'escape')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dest, 'escape'))).toBe(join(work, 'outside'));
      expect(readlinkSync(join(dest, 'rel'))).toBe('sub/a.txt');
      expect(Math.abs(lstatSync(join(dest, 'sub', 'a.txt')).mtimeMs - lstatSync(join(src, 'sub', 'a.txt')).mtimeMs)).toBeLessThan(0.01);
    });
  });
  it('refuses to write into an existing destination', async () => {
    mkdirSync(join(work, 'taken'));
    await expect(copyTree(join(work, 'src'), join(work, 'taken'))).rejects.toThrow(/EEXIST/);
  });
});
