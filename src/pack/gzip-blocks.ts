import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { gzip, type ZlibOptions } from 'node:zlib';

const BLOCK = 1 << 20;

function gzipped(block: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(block, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * Gzip as concatenated members, one per fixed-size block of the input, compressed on zlib's
 * thread pool a few at a time, so every core works. Block boundaries depend only on byte offsets
 * and every member is written in input order, so equal input gives equal bytes on every run and
 * machine; a multi-member gzip is one valid gzip stream (RFC 1952), read by every decompressor.
 */
export class GzipBlocks extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private members = 0;
  private readonly width: number;

  constructor(private readonly zlib: ZlibOptions = { level: 6 }, width = availableParallelism() + 1) {
    super();
    this.width = Math.max(1, width);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.drainFull().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    (async () => {
      await this.drainFull();
      // An empty input is still a gzip stream: one empty member.
      if (this.pendingBytes > 0 || this.members === 0) this.start(Buffer.concat(this.pending));
      this.pending = [];
      this.pendingBytes = 0;
      while (this.inFlight.length) this.push(await this.inFlight.shift()!);
    })().then(() => cb(), cb);
  }

  private async drainFull(): Promise<void> {
    while (this.pendingBytes >= BLOCK) {
      const all = Buffer.concat(this.pending);
      this.start(all.subarray(0, BLOCK));
      const rest = all.subarray(BLOCK);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      // Backpressure: at most `width` blocks compress at once; the oldest is written first.
      if (this.inFlight.length >= this.width) this.push(await this.inFlight.shift()!);
    }
  }

  private start(block: Buffer): void {
    this.members++;
    const done = gzipped(block, this.zlib);
    // Awaited in order below; this keeps a failure of a later block from going unhandled meanwhile.
    done.catch(() => {});
    this.inFlight.push(done);
  }
}
