import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { describeSource, type SourceRef } from './source-ref.js';
import { SlimError, UnsafeImageError } from '../errors.js';
import { holdImage } from '../runtime/run-images.js';
import { verifyDockerArchive, verifyLayout, type NameImage, type VerifiedImage } from './verified-input.js';

export type FileSource = Exclude<SourceRef, { kind: 'engine' }>;

/**
 * Bring an image that lives in a file or OCI layout into the engine, where it is probed and
 * verified; the engine then serves it like any other image. Returns the image ID: the sha256 of
 * the config's bytes, computed here, never a name taken from the input.
 *
 * The input is checked while it streams to the engine (verified-input.ts): a blob that does not
 * match its digest, a blob outside the layout, or a layer entry slim refuses fails the run with
 * slim's own error, and the aborted load leaves nothing. The image is loaded under this run's tag
 * (`slim-run/<run id>:input`) and that tag is removed when the run ends: an image the user (or
 * another run) also names stays, one that only this run named goes.
 */
export async function loadSource(src: FileSource, runtime: Runtime, scope: Scope): Promise<string> {
  const label = describeSource(src);
  const pack = tar.pack();
  // A refused input destroys the archive with its error; that error is reported below, not as an unhandled event.
  pack.on('error', () => {});
  const name = async (id: string) => (await holdImage(runtime, scope, id, 'input')).repoTags;
  const verifying = await verifiedSource(src, scope, pack, name);
  // The first failure is the one to report: a failed check aborts the load, a failed load stops the check.
  const failures: unknown[] = [];
  const stop = new AbortController();
  const checked = verifying().catch((err: unknown) => {
    failures.push(err);
    stop.abort(err);
    pack.destroy();
    throw err;
  });
  const loaded = runtime.loadImage(pack as unknown as Readable, AbortSignal.any([scope.signal, stop.signal])).catch((err: unknown) => {
    failures.push(err);
    pack.destroy();
    throw err;
  });
  const [c, l] = await Promise.allSettled([checked, loaded]);
  if (c.status === 'rejected' || l.status === 'rejected') throw failures[0];
  if (l.value !== c.value.configDigest) {
    throw new SlimError(`the engine loaded ${l.value} from ${label}, whose config is ${c.value.configDigest}`, { code: 'LOAD_FAILED' });
  }
  return c.value.configDigest;
}

/**
 * Ready to check a file input while it is written, as a docker-archive of the checked bytes, to
 * `out` (verified-input.ts): for the engine to load, or for slim to read itself (inspect, diff).
 * A missing file fails here; an oci-archive is unpacked first into a temp dir of the scope.
 */
export async function verifiedSource(src: FileSource, scope: Scope, out: tar.Pack, name: NameImage): Promise<() => Promise<VerifiedImage>> {
  const label = describeSource(src);
  if (src.kind === 'docker-archive') {
    await mustExist(src.file);
    return () => verifyDockerArchive(createReadStream(src.file), label, out, name);
  }
  const dir = src.kind === 'oci' ? src.dir : await unpackOciArchive(src.file, await scope.tempDir('slim-oci-'));
  if (src.kind === 'oci') await mustExist(dir);
  return () => verifyLayout(dir, src.tag, label, out, name);
}

export async function mustExist(p: string): Promise<void> {
  if (!(await stat(p).then(() => true, () => false))) throw new SlimError(`${p} does not exist`, { code: 'SOURCE_NOT_FOUND' });
}

/**
 * Unpack an OCI archive into a directory of slim's own; only the layout's own names are accepted,
 * as regular files, so no entry can land elsewhere, and each blob must match its name's digest.
 */
async function unpackOciArchive(file: string, into: string): Promise<string> {
  await mustExist(file);
  await mkdir(join(into, 'blobs', 'sha256'), { recursive: true });
  const label = `oci-archive:${file}`;
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  try {
    for await (const item of extract) {
      const n = item.header.name.replace(/^\.\//, '');
      // Directories, and the docker-archive index some tools add beside the layout, are not needed.
      if ((item.header.type === 'directory' && /^(\.?\/?|blobs\/?|blobs\/sha256\/?)$/.test(n)) || /^(manifest\.json|repositories)$/.test(n)) {
        item.resume();
        continue;
      }
      if (item.header.type !== 'file' || !/^(oci-layout|index\.json|blobs\/sha256\/[0-9a-f]{64})$/.test(n)) {
        throw new UnsafeImageError(`${label}: unexpected entry "${n}" in an OCI archive`);
      }
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(item as unknown as Readable, tap, createWriteStream(join(into, n)));
      const actual = `sha256:${hash.digest('hex')}`;
      if (n.startsWith('blobs/') && actual !== `sha256:${n.slice(13)}`) {
        throw new UnsafeImageError(`${label}: blob sha256:${n.slice(13)} does not match its digest: its content is ${actual}`);
      }
    }
    await feeding;
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw new SlimError(`cannot read ${label}: ${(err as Error).message}`, { code: 'BAD_ARCHIVE', cause: err });
  }
  return into;
}
