import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { InternalError } from '../errors.js';
import type { Digest } from '../image/types.js';
import type { Scope } from '../runtime/scope.js';
import type { ContentSpool } from './content-spool.js';
import { readImageArchive, type ReadImage } from './image-archive.js';
import { verifiedSource, type FileSource } from './load-source.js';
import { describeSource } from './source-ref.js';

/**
 * Read an image that lives in a file or OCI layout without an engine (slim inspect, slim diff):
 * the same checks as for a load (verified-input.ts: digests, symlinks, safe paths) stream the
 * checked bytes as a docker-archive straight into the reader that `docker save` output goes
 * through. The ID is the sha256 of the config's bytes, as the engine would give it.
 */
export async function readFileSource(src: FileSource, scope: Scope, spool: ContentSpool, opts: { keepLayers?: boolean } = {}): Promise<{ id: Digest; img: ReadImage }> {
  const label = describeSource(src);
  const pack = tar.pack();
  // A refused input destroys the stream; the refusal is what is reported, not the stream's end.
  pack.on('error', () => {});
  const verifying = await verifiedSource(src, scope, pack, async () => []);
  // The first failure is the one to report: a failed check stops the reader, a failed read stops the check.
  const failures: unknown[] = [];
  const fail = (err: unknown) => {
    failures.push(err);
    pack.destroy();
    throw err;
  };
  const onAbort = () => {
    failures.push(scope.signal.reason);
    pack.destroy();
  };
  if (scope.signal.aborted) throw scope.signal.reason;
  scope.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const [c, r] = await Promise.allSettled([verifying().catch(fail), readImageArchive(pack as unknown as Readable, spool, label, opts).catch(fail)]);
    if (c.status === 'rejected' || r.status === 'rejected') throw failures[0];
    if (r.value.configDigest !== c.value.configDigest) throw new InternalError(`${label}: read config ${r.value.configDigest}, checked ${c.value.configDigest}`);
    return { id: c.value.configDigest, img: r.value };
  } finally {
    scope.signal.removeEventListener('abort', onAbort);
  }
}
