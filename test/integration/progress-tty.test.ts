import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leftovers } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim, SLIM_BIN } from '../helpers/slim.js';

const IMAGE = fixtureTag('python-http');
const scratch = mkdtempSync(join(tmpdir(), 'slim-progress-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A smoke check that fails, saying so, until its tenth attempt: slim retries it for about 12 s, past the image's read and its progress bars. */
function slowSmoke(port: number): string {
  const count = join(scratch, `attempts-${port}`);
  return `n=$(cat ${count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${count}; if [ $n -ge 10 ]; then curl -fsS http://127.0.0.1:${port}/health; else echo "not ready yet $n"; exit 1; fi`;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** slim under a real pseudo-terminal (util-linux `script`): what the terminal got, stdout and stderr together. */
function underTerminal(args: string[], runId: string): Promise<{ code: number | null; out: string }> {
  const at = args.indexOf('build');
  const withId = [process.execPath, SLIM_BIN, ...args.slice(0, at + 1), '--run-id', runId, ...args.slice(at + 1)].map(quote).join(' ');
  return new Promise((resolve) => {
    const { CI: _ci, ...env } = process.env;
    const child = execFile('script', ['-qec', withId, '/dev/null'], { env: { ...env, TERM: 'xterm' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout });
    });
    child.stdin?.end();
  });
}

const STATUS = /\r\x1b\[K {2}waiting \d+s, attempt (\d+), smoke: [^\r\n]*\| last: not ready yet (\d)/g;

describe('progress while checks are retried', () => {
  it('on a terminal: a status line updated in place with the seconds, the attempt and the last line of the check, erased when done', async () => {
    const port = freePort();
    const runId = `tty-${port}-${Date.now().toString(36)}`;
    const r = await underTerminal(['build', IMAGE, '--network', 'host', '-e', `PORT=${port}`, '--smoke', slowSmoke(port), '--dry-run'], runId);
    expect(r.code, r.out).toBe(0);
    const shown = [...r.out.matchAll(STATUS)];
    expect(shown.length, r.out).toBeGreaterThanOrEqual(2);
    // Attempt N runs after attempt N-1 said "not ready yet N-1".
    for (const m of shown) expect(Number(m[1])).toBe(Number(m[2]) + 1);
    expect(new Set(shown.map((m) => m[1])).size).toBeGreaterThan(1);
    // Erased before the next line: nothing of it is left on the row where the result is printed.
    const after = r.out.slice(shown.at(-1)!.index! + shown.at(-1)![0].length);
    expect(after.slice(0, after.indexOf('the check passed')), r.out).toMatch(/^[^\n]*\r\x1b\[K/);
    // Updated as attempts go on (how many are shown depends on when the image read's bars draw, which hide it).
    const attempts = shown.map((m) => Number(m[1]));
    expect(attempts, r.out).toEqual([...attempts].sort((a, b) => a - b));
    expect(r.out).toMatch(/slim dry run of/);
    expect(leftovers(runId)).toEqual({ containers: [], volumes: [] });
  });

  it('nothing of it with -q on a terminal, nor when stderr is not a terminal', async () => {
    const [p1, p2] = [freePort(), freePort()];
    const runId = `tty-q-${p1}-${Date.now().toString(36)}`;
    const [quiet, piped] = await Promise.all([
      underTerminal(['-q', 'build', IMAGE, '--network', 'host', '-e', `PORT=${p1}`, '--smoke', slowSmoke(p1), '--dry-run'], runId),
      runSlim(['build', IMAGE, '--network', 'host', '-e', `PORT=${p2}`, '--smoke', slowSmoke(p2), '--dry-run'], { env: { TERM: 'xterm', CI: '' } }),
    ]);
    expect(quiet.code, quiet.out).toBe(0);
    // No status line, and no progress bars either: the one result line is all.
    expect(quiet.out).not.toMatch(/waiting|saving|reading|\x1b\[K/);
    expect(quiet.out.split('\n').filter((l) => l.trim())).toHaveLength(1);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toMatch(/waiting|\x1b\[K/);
    // The checks really were retried in both.
    for (const p of [p1, p2]) expect(Number(readFileSync(join(scratch, `attempts-${p}`), 'utf8'))).toBeGreaterThanOrEqual(10);
    expect(leftovers(runId)).toEqual({ containers: [], volumes: [] });
    expect(leftovers(piped.runId)).toEqual({ containers: [], volumes: [] });
  });
});
