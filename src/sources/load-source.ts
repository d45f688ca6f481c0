import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Digest } from '../image/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { SlimError } from '../errors.js';
import { holdImage } from '../runtime/run-images.js';
import { writeCheckedArchive } from './checked-archive.js';
import type { ImageSource } from './image-source.js';

/**
 * Bring an image that lives in a file or OCI layout into the engine, where it is probed and
 * verified; the engine then serves it like any other image. Returns the image ID: the sha256 of
 * the config's bytes, computed here, never a name taken from the input.
 *
 * The input is checked while it streams to the engine (checked-archive.ts): a blob that does not
 * match its digest, a blob outside the layout, or a layer entry slim refuses fails the run with
 * slim's own error, and the aborted load leaves nothing. The image is loaded under this run's tag
 * (`slim-run/<run id>:input`) and that tag is removed when the run ends: an image the user (or
 * another run) also names stays, one that only this run named goes. `signal` stops the load
 * (a reader of the same source that failed).
 */
export async function loadSource(source: ImageSource, runtime: Runtime, scope: Scope, signal?: AbortSignal): Promise<Digest> {
  const pack = tar.pack();
  // A refused input destroys the archive with its error; that error is reported below, not as an unhandled event.
  pack.on('error', () => {});
  const name = async (id: string) => (await holdImage(runtime, scope, id, 'input')).repoTags;
  // The first failure is the one to report: a failed check aborts the load, a failed load stops the check.
  const failures: unknown[] = [];
  const stop = new AbortController();
  const stopped = AbortSignal.any([scope.signal, stop.signal, ...(signal ? [signal] : [])]);
  const checked = writeCheckedArchive(source, pack, name, stopped).catch((err: unknown) => {
    failures.push(err);
    stop.abort(err);
    pack.destroy();
    throw err;
  });
  const loaded = runtime.loadImage(pack as unknown as Readable, stopped).catch((err: unknown) => {
    failures.push(err);
    stop.abort(err);
    pack.destroy();
    throw err;
  });
  const [c, l] = await Promise.allSettled([checked, loaded]);
  if (c.status === 'rejected' || l.status === 'rejected') throw failures[0];
  if (l.value !== c.value.configDigest) {
    throw new SlimError(`the engine loaded ${l.value} from ${source.label}, whose config is ${c.value.configDigest}`, { code: 'LOAD_FAILED' });
  }
  return c.value.configDigest;
}
