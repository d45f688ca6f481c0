import { afterEach, describe, expect, it, vi } from 'vitest';
import { lastLine, NO_STATUS, progressBar, quietProgress, retryStatusText, statusLine, type StatusLine } from '../../src/progress.js';
import { retryStatus } from '../../src/verify/retry-status.js';
import { createLogger } from '../../src/log.js';

/** A stand-in for stderr: what was written, in order. */
function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { isTTY, ...(columns !== undefined ? { columns } : {}), writes, write: (s: string) => writes.push(s) };
}

const TERM = { TERM: 'xterm' };

describe('statusLine', () => {
  it('on a terminal, rewrites one line in place and erases it when cleared', () => {
    const s = fakeStream(true, 100);
    const line = statusLine(s, { env: TERM });
    line.show('one');
    line.show('two');
    line.clear();
    line.clear();
    expect(s.writes).toEqual(['\r\x1b[Kone', '\r\x1b[Ktwo', '\r\x1b[K']);
  });

  it('is cut to the terminal width, so that it never wraps (80 columns when the terminal does not say)', () => {
    const wide = fakeStream(true, 30);
    statusLine(wide, { env: TERM }).show('x'.repeat(100));
    expect(wide.writes).toEqual(['\r\x1b[K' + 'x'.repeat(29)]);
    const unknown = fakeStream(true, 0);
    statusLine(unknown, { env: TERM }).show('y'.repeat(100) + '\nz');
    expect(unknown.writes).toEqual(['\r\x1b[K' + 'y'.repeat(79)]);
  });

  it('writes nothing when not a terminal, with -q, in CI or on a dumb terminal', () => {
    const cases = [
      { stream: fakeStream(false), opts: { env: TERM } },
      { stream: fakeStream(true), opts: { env: TERM, quiet: true } },
      { stream: fakeStream(true), opts: { env: { ...TERM, CI: 'true' } } },
      { stream: fakeStream(true), opts: { env: { TERM: 'dumb' } } },
    ];
    for (const { stream, opts } of cases) {
      const line = statusLine(stream, opts);
      expect(line).toBe(NO_STATUS);
      line.show('waiting');
      line.clear();
      expect(stream.writes).toEqual([]);
    }
  });

  it('waits while a progress bar draws on the same row', () => {
    // The bar decides from the process's environment: a terminal outside CI.
    vi.stubEnv('CI', '');
    vi.stubEnv('TERM', 'xterm');
    try {
      const s = fakeStream(true, 100);
      const line = statusLine(s, { env: TERM });
      const bar = progressBar('reading', 10, s as unknown as NodeJS.WriteStream);
      bar.add(5);
      expect(s.writes.at(-1)).toMatch(/reading \[#+ +\] 50%/);
      line.show('hidden while the bar runs');
      expect(s.writes.some((w) => w.includes('hidden'))).toBe(false);
      bar.done();
      line.show('shown after');
      expect(s.writes.at(-1)).toBe('\r\x1b[Kshown after');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('quietProgress (-q)', () => {
  it('turns off the progress bars and status lines on a terminal too', () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('TERM', 'xterm');
    try {
      quietProgress(true);
      const s = fakeStream(true, 100);
      const bar = progressBar('reading', 10, s as unknown as NodeJS.WriteStream);
      bar.add(5);
      bar.done();
      statusLine(s, { env: TERM }).show('waiting');
      expect(s.writes).toEqual([]);
      quietProgress(false);
      progressBar('reading', 10, s as unknown as NodeJS.WriteStream).add(5);
      expect(s.writes).toHaveLength(1);
    } finally {
      quietProgress(false);
      vi.unstubAllEnvs();
    }
  });
});

describe('retryStatusText', () => {
  it('says the seconds waited, the attempt and the last line the check printed', () => {
    expect(retryStatusText({ name: 'GET /health', elapsedSeconds: 12.7, attempt: 4, lastOutput: 'curl: (7) Failed to connect\n' })).toBe('  waiting 12s, attempt 4, GET /health | last: curl: (7) Failed to connect');
    expect(retryStatusText({ name: 'exec: true', elapsedSeconds: 0.2, attempt: 2, lastOutput: '' })).toBe('  waiting 0s, attempt 2, exec: true');
  });

  it('shortens a long check name, not the figures', () => {
    const text = retryStatusText({ name: 'smoke: ' + 'a'.repeat(80), elapsedSeconds: 3, attempt: 2, lastOutput: 'no' });
    expect(text).toBe(`  waiting 3s, attempt 2, smoke: ${'a'.repeat(20)}… | last: no`);
  });

  it('takes the last line with something on it, without colours or control characters', () => {
    expect(lastLine('first\n\x1b[31msecond\x1b[0m\r\n  \n')).toBe('second');
    expect(lastLine('progress 10%\rprogress 90%')).toBe('progress 90%');
    expect(lastLine('')).toBe('');
  });
});

describe('retryStatus', () => {
  afterEach(() => vi.useRealTimers());

  function recording(): StatusLine & { shown: string[]; cleared: number } {
    const r = { shown: [] as string[], cleared: 0, show: (t: string) => void r.shown.push(t), clear: () => void r.cleared++ };
    return r;
  }

  it('shows nothing until an attempt fails, then the next attempt, ticking every second, and clears when done', () => {
    vi.useFakeTimers();
    let now = 1000;
    const line = recording();
    const s = retryStatus(line, 'smoke: curl', 1000, () => now);
    expect(line.shown).toEqual([]);
    now = 1400;
    s.failed(1, 'connection refused');
    expect(line.shown).toEqual(['  waiting 0s, attempt 2, smoke: curl | last: connection refused']);
    now = 3500;
    vi.advanceTimersByTime(1000);
    expect(line.shown.at(-1)).toBe('  waiting 2s, attempt 2, smoke: curl | last: connection refused');
    s.failed(2, 'still\nnot yet');
    expect(line.shown.at(-1)).toBe('  waiting 2s, attempt 3, smoke: curl | last: not yet');
    s.done();
    expect(line.cleared).toBe(1);
    const count = line.shown.length;
    vi.advanceTimersByTime(5000);
    expect(line.shown).toHaveLength(count);
  });

  it('a check that passes at once leaves no line to clear', () => {
    const line = recording();
    const s = retryStatus(line, 'x', Date.now());
    s.done();
    expect(line).toMatchObject({ shown: [], cleared: 0 });
  });
});

describe('the logger and the status line', () => {
  it('erases the status before it prints a line', () => {
    const events: string[] = [];
    const status: StatusLine = { show: (t) => void events.push(`show ${t}`), clear: () => void events.push('clear') };
    const log = createLogger({ write: (l) => void events.push(`line ${l}`), status });
    log.status!.show('waiting');
    log.info('the check passed');
    expect(events).toEqual(['show waiting', 'clear', 'line   the check passed']);
  });

  it('has a silent status when it writes elsewhere than stderr', () => {
    expect(createLogger({ write: () => {} }).status).toBe(NO_STATUS);
  });
});
