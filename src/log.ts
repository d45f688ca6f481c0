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
}

export function createLogger(opts: { level?: Level; quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const min = opts.quiet ? order.warn : order[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const at = (level: Level, prefix: string) => (msg: string) => {
    if (order[level] >= min) write(prefix + msg);
  };
  return {
    debug: at('debug', '  . '),
    info: at('info', '  '),
    warn: at('warn', 'warning: '),
    error: at('error', 'error: '),
    step: at('info', '» '),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, step() {} };
