import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import type { BuildErrorReport } from '../../src/report/report.js';

const work = mkdtempSync(join(tmpdir(), 'slim-failure-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('slim: error:'));

describe('slim build --json and --report FILE when the build fails', () => {
  it('an image that is not in the engine: the error report on stdout and in the file', async () => {
    const file = join(work, 'missing.json');
    const r = await runSlim(['build', 'slim-test/does-not-exist:1', '--smoke', 'true', '--json', '--report', file]);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as BuildErrorReport;
    expect(report).toMatchObject({ schema: 'slim.report/v1', status: 'error', error: { code: 'IMAGE_NOT_FOUND', exitCode: 1 }, input: { ref: 'slim-test/does-not-exist:1' } });
    expect(report.error.message).toMatch(/is not in the engine/);
    expect(report.error.hint).toMatch(/build or pull it first/);
    expect(report.timings.total).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    expect(errorLines(r.stderr)).toEqual(['slim: error: image slim-test/does-not-exist:1 is not in the engine']);
  });

  it('a check that fails on the original: the code, and the phases that ran', async () => {
    const port = freePort();
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', `slim-test/python-http:failrep-${port}`, '--network', 'host', '-e', `PORT=${port}`, '--smoke', `curl -fsS http://127.0.0.1:${port}/missing`, '--smoke-timeout', '4', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as BuildErrorReport;
    expect(report).toMatchObject({ status: 'error', error: { code: 'PROBE_FAILED' }, input: { ref: fixtureTag('python-http') } });
    expect(report.error.message).toMatch(/^the checks did not pass on the original image: smoke: curl/);
    expect(report.timings.probe).toBeGreaterThanOrEqual(4);
    expect(report.timings.total).toBeGreaterThanOrEqual(report.timings.probe!);
    expect(report.timings).not.toHaveProperty('pack');
  });

  it('a usage error still gives the report, with exit code 2', async () => {
    const r = await runSlim(['build', 'anything:1', '--smoke-timeout', 'soon', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', error: { code: 'USAGE', exitCode: 2, message: '--smoke-timeout must be a positive number of seconds, not "soon"' } });
  });

  it('--report where no file can be written: one line of error before the build, no internal error', async () => {
    const notADir = join(work, 'a-file');
    writeFileSync(notADir, '');
    for (const [file, why] of [[join(work, 'no', 'such', 'dir', 'r.json'), 'no such directory'], [join(notADir, 'r.json'), 'not a directory'], [work, 'is a directory']] as const) {
      // The engine is never asked: the path is checked first.
      const r = await runSlim(['build', 'slim-test/never-read:1', '--smoke', 'true', '--report', file, '--json'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(errorLines(r.stderr)[0]).toContain(`--report ${file}`);
      expect(errorLines(r.stderr)[0]).toContain(why);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', error: { code: 'USAGE' } });
    }
  });
});
