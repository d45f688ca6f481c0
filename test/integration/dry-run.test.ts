import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, hasImage } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import type { DryRunReport } from '../../src/report/dry-run.js';
import type { BuildReport } from '../../src/report/report.js';

const IMAGE = fixtureTag('python-http');
const madeTags: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'slim-dry-run-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(scratch, { recursive: true, force: true });
});

const smoke = (port: number) => `curl -fsS --max-time 5 http://127.0.0.1:${port}/health | grep -q ok`;
const runImages = (runId: string) => docker(['images', '-q', `slim-run/${runId}`]).split('\n').filter(Boolean);

describe('slim build --dry-run', () => {
  it('probes and closes over, reports kept and removed by directory and package and a projected size close to the real build, and makes nothing', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:dry-${port}`;
    const archive = join(scratch, 'slim.tar');
    const reportFile = join(scratch, 'dry.json');
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const common = ['--network', 'host', '-e', `PORT=${port}`, '--smoke', smoke(port)];

    const dry = await runSlim(['build', IMAGE, '--tag', tag, ...common, '--dry-run', '--json', '--report', reportFile, '-o', `docker-archive:${archive}`], { env: { TMPDIR: tmp } });
    expect(dry.code, dry.stderr).toBe(0);
    const r = JSON.parse(dry.stdout) as DryRunReport;
    expect(r.status).toBe('dry-run');
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toEqual(r);

    // What would be kept and removed, and where: groups add up to the whole.
    expect(r.kept.files).toBeGreaterThan(10);
    expect(r.removed.files).toBeGreaterThan(r.kept.files);
    const sum = (gs: { kept: number; removed: number }[]) => gs.reduce((s, g) => ({ kept: s.kept + g.kept, removed: s.removed + g.removed }), { kept: 0, removed: 0 });
    expect(r.dirs.groups.length).toBeGreaterThan(3);
    expect(r.dirs.groups.some((g) => g.path.startsWith('/usr/lib') && g.kept > 0)).toBe(true);
    const sizes = r.dirs.groups.map((g) => g.kept + g.removed);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(r.packages).not.toBeNull();
    expect(sum(r.packages!)).toEqual({ kept: r.kept.bytes, removed: r.removed.bytes });
    const python = r.packages!.find((p) => p.name.startsWith('libpython3.11-minimal') || p.name.startsWith('python3.11-minimal'));
    expect(python?.kept, JSON.stringify(r.packages)).toBeGreaterThan(0);
    expect(r.projected.size).toBe(r.kept.bytes);
    expect(r.projected.estimate).toMatch(/before compression/);

    // The text says the same, and that the size is an estimate.
    expect(dry.stderr).toMatch(/slim dry run of .*: nothing was packed, loaded, verified or written/);
    expect(dry.stderr).toMatch(/projected \d+(\.\d+)? MB .*an estimate/);
    expect(dry.stderr).toMatch(/by directory[^\n]*\n\s+[\d.]+ (B|kB|MB) kept\s+[\d.]+ (B|kB|MB) removed/);
    expect(dry.stderr).toMatch(/by package/);
    expect(dry.stderr).toMatch(/warning: --dry-run: -o docker-archive:\S+ not written/);

    // Nothing made: no slim image (neither the tag nor the run's provisional one), no archive, nothing left behind.
    expect(hasImage(tag)).toBe(false);
    expect(runImages(dry.runId)).toEqual([]);
    expect(existsSync(archive)).toBe(false);
    expect(existsSync(reportFile.replace(/\.json$/, '.sbom.cdx.json'))).toBe(false);
    expect(leftovers(dry.runId)).toEqual({ containers: [], volumes: [] });
    expect(readdirSync(tmp)).toEqual([]);

    // The real build of the same image keeps the same files: the projection is within a few per cent of it.
    madeTags.push(tag);
    const real = await runSlim(['build', IMAGE, '--tag', tag, ...common, '--no-repair', '--json']);
    expect(real.code, real.stderr).toBe(0);
    const built = real.report as BuildReport;
    expect(built.closure.kept).toBe(r.kept.entries);
    expect(built.output.files).toBe(r.kept.files);
    expect(Math.abs(r.projected.size - built.output.size) / built.output.size).toBeLessThan(0.03);
  });

  it('Ctrl-C while it probes: exit 130, and everything it made is removed', async () => {
    const port = freePort();
    const tmp = mkdtempSync(join(scratch, 'tmp-int-'));
    // A check that never passes: the probe is still running when the interrupt comes.
    let sent = false;
    const r = await runSlim(['build', IMAGE, '--network', 'host', '-e', `PORT=${port}`, '--smoke', 'echo not yet; exit 1', '--dry-run'], {
      env: { TMPDIR: tmp },
      onStderr: (text, kill) => {
        if (sent || !/probe container \w+ started/.test(text)) return;
        sent = true;
        kill('SIGINT');
      },
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('slim: cleanup done: everything slim created was removed');
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    expect(runImages(r.runId)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('-q prints the one line of the dry run', async () => {
    const port = freePort();
    const r = await runSlim(['-q', 'build', IMAGE, '--tag', `slim-test/python-http:dry-q-${port}`, '--network', 'host', '-e', `PORT=${port}`, '--smoke', smoke(port), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^slim: dry run of \S+: would keep \d+ files, [\d.]+ MB \(estimate, before compression; [\d.]+ MB now\), remove \d+ files, [\d.]+ MB$/);
    expect(r.stdout).toBe('');
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });
});
