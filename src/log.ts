import { NO_STATUS, statusLine, type StatusLine } from './progress.js';

/** Levelled logger to stderr, so that stdout stays free for --json. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A step of the pipeline starting: one line. */
  step(msg: string): void;
  /** A line updated in place while slim waits (a check being retried); absent or silent off a terminal and with -q. */
  status?: StatusLine;
}

export function createLogger(opts: { level?: Level; quiet?: boolean; write?: (line: string) => void; status?: StatusLine } = {}): Logger {
  const min = opts.quiet ? order.warn : order[opts.level ?? 'info'];
  // The status line is stderr's: a logger writing elsewhere (a test's) has none.
  const status = opts.status ?? (opts.write ? NO_STATUS : statusLine(process.stderr, { quiet: opts.quiet ?? false }));
  const out = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  // A line printed while the status is shown would be appended to it: erase it first (the next update redraws it).
  const write = (line: string) => {
    status.clear();
    out(line);
  };
  const at = (level: Level, prefix: string) => (msg: string) => {
    if (order[level] >= min) write(prefix + msg);
  };
  return {
    debug: at('debug', '  . '),
    info: at('info', '  '),
    warn: at('warn', 'warning: '),
    error: at('error', 'error: '),
    step: at('info', '» '),
    status,
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, step() {} };
