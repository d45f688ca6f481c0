import { addAbortSignal, Readable } from 'node:stream';
import { SlimError } from '../errors.js';
import type { Digest } from '../image/types.js';
import { pullScope } from './challenge.js';
import { short } from './request.js';
import type { RegistryTransport } from './transport.js';

export interface BlobStreamOptions {
  /** The size the manifest gives: a body that goes past it fails at once (`tooLong`), not after an endless read. */
  size: number;
  tooLong: () => Error;
  signal?: AbortSignal;
}

/**
 * A blob's bytes as a stream, for blobs too big to hold in memory (layers). A body cut midway (a
 * reset, an idle timeout) is taken up again where it stopped with a Range request, as often as
 * the transport retries a request; a registry that ignores the range sends it all again, and what
 * was had already is skipped. The bytes are not checked here: the caller checks their digest.
 */
export function streamBlob(t: RegistryTransport, repo: string, digest: Digest, opts: BlobStreamOptions): Readable {
  const what = `getting blob ${short(digest)}`;
  async function* bytes(): AsyncGenerator<Buffer> {
    let got = 0;
    for (let resumes = 0; ; resumes++) {
      const res = await t.request({ method: 'GET', url: `v2/${repo}/blobs/${digest}`, ...(got ? { headers: { range: `bytes=${got}-` } } : {}), scopes: [pullScope(repo)], ok: got ? [200, 206] : [200], follow: true, what });
      let skip = res.status === 200 ? got : 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          const fresh = skip ? chunk.subarray(Math.min(skip, chunk.length)) : chunk;
          skip -= chunk.length - fresh.length;
          if (fresh.length === 0) continue;
          got += fresh.length;
          if (got > opts.size) throw opts.tooLong();
          yield fresh;
        }
        return;
      } catch (err) {
        res.body.destroy();
        if (err instanceof SlimError || opts.signal?.aborted || t.opts.signal?.aborted || resumes >= t.opts.retries) throw err;
        t.opts.onRetry?.(what, resumes + 1, `cut after ${got} bytes: ${(err as Error).message}`);
        await t.backoff(t.opts.retryDelayMs * 2 ** resumes);
      }
    }
  }
  const stream = Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 });
  return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
}
