import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Digest } from './types.js';

/** Passes bytes through while hashing them; digest and size are known only after the stream ends. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private result: { digest: Digest; size: number } | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = { digest: `sha256:${this.hash.digest('hex')}`, size: this.bytes };
    cb();
  }

  get digest(): { digest: Digest; size: number } {
    if (!this.result) throw new Error('digest read before the stream ended');
    return this.result;
  }
}

export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
