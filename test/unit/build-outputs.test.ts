import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { reportingFailures, writeReport } from '../../src/cli/build-outputs.js';
import type { CommandContext } from '../../src/cli/context.js';
import { SlimError, UsageError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { Scope } from '../../src/runtime/scope.js';
import type { BuildErrorReport } from '../../src/report/report.js';

const work = mkdtempSync(join(tmpdir(), 'slim-build-outputs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const ctxWith = (log: Logger = silentLogger): CommandContext => ({ runtime: undefined as never, log, scope: new Scope() });

function captureStdout(): string[] {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  return out;
}

describe('the report of a failed build', () => {
  it('a report file that cannot be written is an output error of one line, not a crash', async () => {
    const blocker = join(work, 'blocker');
    writeFileSync(blocker, '');
    const err = await writeReport(join(blocker, 'r.json'), '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlimError);
    expect(err).toMatchObject({ code: 'OUTPUT_FAILED', exitCode: 1, message: `cannot write the report to ${join(blocker, 'r.json')}: ENOTDIR` });
  });

  it('gives --json and --report the error, the image and the phases that ran; the error goes on', async () => {
    const out = captureStdout();
    const file = join(work, 'failed.json');
    const failing = new SlimError('the checks did not pass on the original image', { code: 'PROBE_FAILED', hint: 'make them pass' });
    const action = reportingFailures({ json: true, report: file }, async (_ctx, failure) => {
      await failure.begin('app:1');
      await failure.clock.time('read', async () => new Promise((r) => setTimeout(r, 20)));
      await failure.clock.time('probe', async () => {
        throw failing;
      });
      return 0;
    });
    await expect(action(ctxWith())).rejects.toBe(failing);
    const report = JSON.parse(out.join('')) as BuildErrorReport;
    expect(report).toMatchObject({ schema: 'slim.report/v1', status: 'error', input: { ref: 'app:1' }, error: { code: 'PROBE_FAILED', message: failing.message, hint: 'make them pass', exitCode: 1 } });
    expect(report.timings.total).toBeGreaterThanOrEqual(report.timings.read!);
    expect(report.timings).not.toHaveProperty('pack');
    expect(report.timings.read).toBeGreaterThan(0.01);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
  });

  it('an error that is not slim\'s own is INTERNAL; an abort reports its reason', async () => {
    const out = captureStdout();
    await expect(reportingFailures({ json: true }, async () => Promise.reject(new TypeError('x is undefined')))(ctxWith())).rejects.toThrow(TypeError);
    expect(JSON.parse(out.splice(0).join(''))).toMatchObject({ error: { code: 'INTERNAL', message: 'x is undefined', hint: null }, input: { ref: null } });
    const ctx = ctxWith();
    await expect(reportingFailures({ json: true }, async () => {
      ctx.scope.interrupt('SIGINT');
      throw new Error('This operation was aborted');
    })(ctx)).rejects.toThrow('aborted');
    expect(JSON.parse(out.join(''))).toMatchObject({ error: { code: 'INTERRUPTED', exitCode: 130 } });
  });

  it('a report file that fails at the end is said once, as the error, and not tried again', async () => {
    captureStdout();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const gone = join(work, 'gone');
    writeFileSync(gone, '');
    const file = join(gone, 'r.json');
    const action = reportingFailures({ report: file }, async (_ctx, failure) => {
      await failure.writeReport('{}');
      return 0;
    });
    await expect(action(ctxWith(log))).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
    expect(warnings).toEqual([]);
    await expect(reportingFailures({ report: file }, async (_ctx, f) => f.begin('x').then(() => 0))(ctxWith(log))).rejects.toBeInstanceOf(UsageError);
  });
});
