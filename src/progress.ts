import { Transform, type TransformCallback } from 'node:stream';

/** A bar on a terminal for long work; nothing at all in CI or when stderr is not a terminal. */
export interface Progress {
  add(n: number): void;
  done(): void;
}

const SILENT: Progress = { add() {}, done() {} };

/** Bars drawing now: a status line waits for them, as two live lines on one row would overwrite each other. */
let barsDrawing = 0;

/** -q: no bars and no status lines anywhere, whatever the terminal (set once, by the CLI). */
let quiet = false;
export function quietProgress(on: boolean): void {
  quiet = on;
}

export function progressEnabled(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return !quiet && stream.isTTY === true && !env.CI && env.TERM !== 'dumb';
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressEnabled(stream) || total <= 0) return SILENT;
  let done = 0;
  let last = 0;
  let drawn = false;
  const draw = () => {
    if (!drawn) barsDrawing++;
    drawn = true;
    const frac = Math.min(1, done / total);
    const width = 30;
    const fill = Math.round(frac * width);
    stream.write(`\r  ${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${Math.floor(frac * 100)}%`);
  };
  return {
    add(n) {
      done += n;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      stream.write('\r\x1b[K');
      if (drawn) barsDrawing--;
      drawn = false;
    },
  };
}

/** Counts the bytes that flow through into a progress bar. */
export function counting(p: Progress, opts: { finish?: boolean } = {}): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      p.add(chunk.length);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (opts.finish !== false) p.done();
      cb();
    },
  });
}

/** What a status line writes to: stderr, or a fake of it in tests. */
export interface StatusStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** One line on a terminal that is rewritten in place, for waits with nothing else to show. */
export interface StatusLine {
  show(text: string): void;
  /** Erases the line, if one is shown: before any other output and when the wait is over. */
  clear(): void;
}

export const NO_STATUS: StatusLine = { show() {}, clear() {} };

/**
 * A status line on `stream` when it is a terminal and slim is not quiet; else one that writes
 * nothing (a log file or a CI job would get a line per update, not one line updated).
 */
export function statusLine(stream: StatusStream = process.stderr, opts: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): StatusLine {
  if (opts.quiet || !progressEnabled(stream, opts.env)) return NO_STATUS;
  let shown = false;
  return {
    show(text) {
      if (barsDrawing > 0) return;
      // Longer than the terminal, it would wrap, and \r would then rewrite only its last row.
      const width = Math.max(20, (stream.columns || 80) - 1);
      const line = [...text.replace(/[\r\n\t]+/g, ' ')].slice(0, width).join('');
      stream.write(`\r\x1b[K${line}`);
      shown = true;
    },
    clear() {
      if (!shown) return;
      stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** The status of a check being retried: `  waiting 12s, attempt 4, NAME | last: LINE` (the figures first: a long line is cut at the end). */
export function retryStatusText(s: { name: string; elapsedSeconds: number; attempt: number; lastOutput: string }): string {
  const last = lastLine(s.lastOutput);
  const name = s.name.length > 28 ? s.name.slice(0, 27) + '…' : s.name;
  return `  waiting ${Math.floor(s.elapsedSeconds)}s, attempt ${s.attempt}, ${name}${last ? ` | last: ${last}` : ''}`;
}

/** The last line with something on it, with its control characters (colours, \r) taken out. */
export function lastLine(output: string): string {
  const lines = output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n|\r/).map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim());
  return lines.filter(Boolean).pop() ?? '';
}
