import { PassThrough, type Readable } from 'node:stream';

/** Read the first n bytes of a stream without losing them: returns them and a stream that still starts at byte 0. */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  const iterator = input[Symbol.asyncIterator]();
  while (have < n) {
    const { value, done } = await iterator.next();
    if (done) break;
    const buf = Buffer.isBuffer(value) ? value : Buffer.from(value);
    chunks.push(buf);
    have += buf.length;
  }
  const head = Buffer.concat(chunks);
  const out = new PassThrough();
  out.write(head);
  (async () => {
    try {
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) break;
        if (!out.write(value)) await new Promise<void>((r) => out.once('drain', r));
      }
      out.end();
    } catch (err) {
      out.destroy(err as Error);
    }
  })();
  return { head: head.subarray(0, n), stream: out };
}

function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export type Compression = 'none' | 'gzip' | 'zstd';

export function compressionOf(head: Buffer): Compression {
  return isGzip(head) ? 'gzip' : isZstd(head) ? 'zstd' : 'none';
}

function isZstd(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
}
