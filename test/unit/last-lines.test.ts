import { describe, expect, it } from 'vitest';
import { lastLines, lastLinesWithErrors } from '../../src/verify/last-lines.js';
import { failedName } from '../../src/image/reference.js';
import { demux } from '../../src/runtime/docker-streams.js';
import { compareRuns, type Checked } from '../../src/pipeline/verify-run.js';
import { withSeccompVerdict } from '../../src/pipeline/harden-checks.js';
import type { Check } from '../../src/verify/checks.js';
import type { HardenReport } from '../../src/report/report.js';

const frame = (kind: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = kind;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe('the last lines a container printed', () => {
  it('keeps the last ten, without the trailing blank ones', () => {
    const text = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`).join('\n') + '\n\n\n';
    expect(lastLines(Buffer.from(text))).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 16}`));
  });
  it('shows what stayed on screen: carriage returns collapsed, escapes and control characters gone, long lines cut', () => {
    const long = 'x'.repeat(1000);
    expect(lastLines('progress 10%\rprogress 100%\r\n\x1b[31mred\x1b[0m and\x07 bell\n' + long)).toEqual(['progress 100%', 'red and bell', 'x'.repeat(300) + '…']);
  });
  it('reads only the end of a long log', () => {
    const log = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `request ${i}`).join('\n'));
    expect(lastLines(log, 2)).toEqual(['request 199998', 'request 199999']);
  });
  it('nothing printed is no lines', () => {
    expect(lastLines(Buffer.alloc(0))).toEqual([]);
    expect(lastLines('\n\n')).toEqual([]);
  });
  it('the engine\'s log frames give both streams in the order they were written', () => {
    const raw = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    const d = demux(raw);
    expect(d.stdout.toString()).toBe('out 1\nout 2\n');
    expect(d.stderr.toString()).toBe('err 1\n');
    expect(lastLines(d.output)).toEqual(['out 1', 'err 1', 'out 2']);
  });
});

describe('the name --keep-failed keeps a failed image under', () => {
  it('is the output name with -failed on its tag', () => {
    expect(failedName('myapp:1.4-slim')).toEqual({ repository: 'myapp', tag: '1.4-slim-failed' });
    expect(failedName('localhost:5000/team/app')).toEqual({ repository: 'localhost:5000/team/app', tag: 'latest-failed' });
  });
  it('still a valid tag when the output tag is as long as a tag may be', () => {
    const { tag } = failedName(`app:${'a'.repeat(128)}`);
    expect(tag).toHaveLength(128);
    expect(tag.endsWith('-failed')).toBe(true);
  });
});

describe('the verdict carries the last lines only when the slim image failed', () => {
  const run = (exitCode: number, output: string): Checked => ({
    passed: exitCode === 0, summary: '', checks: [], exitCode, stdout: Buffer.from(''), stderr: Buffer.from(''), output: Buffer.from(output), outputs: new Map(), seconds: 1, health: { result: 'none', detail: '' },
  });
  const job: Check = { kind: 'job', compareOutputs: [] };
  it('a failed job: both containers\' ends', () => {
    const v = compareRuns(job, run(0, 'starting\ndone\n'), run(1, 'starting\nerror: no /data\n'));
    expect(v.passed).toBe(false);
    expect(v.output).toEqual({ slim: ['starting', 'error: no /data'], original: ['starting', 'done'] });
  });
  it('a passing one: none', () => {
    expect(compareRuns(job, run(0, 'done\n'), run(0, 'done\n'))).not.toHaveProperty('output');
  });
  it('failing only under the seccomp profile: the seccomp run\'s lines', () => {
    const passed = compareRuns(job, run(0, 'done\n'), run(0, 'done\n'));
    const seccompOutput = { slim: ['Operation not permitted'], original: ['done'] };
    const harden: HardenReport = { steps: [{ step: 'seccomp', result: 'fail', detail: 'exit code: exited 1', output: seccompOutput }], readOnly: { result: 'pass', tmpfs: [] } };
    expect(withSeccompVerdict(passed, harden)).toMatchObject({ passed: false, output: seccompOutput });
  });

  it('keeps stderr\'s last lines in the window when the engine logged stdout after them', () => {
    const out = Array.from({ length: 12 }, (_, i) => `out ${i}`);
    const interleaved = ['cut: no such file', ...out].join('\n');
    expect(lastLinesWithErrors(interleaved, 'cut: no such file\n')).toEqual(['cut: no such file', ...out.slice(-9)]);
    // Already in the window: nothing moves.
    expect(lastLinesWithErrors([...out, 'err'].join('\n'), 'err\n')).toEqual([...out.slice(-9), 'err']);
    expect(lastLinesWithErrors('a\nb', '')).toEqual(['a', 'b']);
  });
});
