import { Transform, type TransformCallback } from 'node:stream';

/** A bar on a terminal for long work; nothing at all in CI or when stderr is not a terminal. */
export interface Progress {
  add(n: number): void;
  done(): void;
}

const SILENT: Progress = { add() {}, done() {} };

export function progressEnabled(stream: NodeJS.WriteStream = process.stderr, env = process.env): boolean {
  return stream.isTTY === true && !env.CI && env.TERM !== 'dumb';
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!progressEnabled(stream) || total <= 0) return SILENT;
  let done = 0;
  let last = 0;
  const draw = () => {
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
