import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { HashingStream } from '../image/digest.js';
import type { Scope } from '../runtime/scope.js';
import { SlimError, UnsafeImageError } from '../errors.js';
import type { ImageSource } from './image-source.js';
import { layoutSource } from './layout-source.js';
import type { Platform } from '../image/platform.js';

/** An OCI layout in a tar: unpacked into a temp dir of the scope, then read as the layout it holds. */
export async function ociArchiveSource(file: string, tag: string | undefined, label: string, scope: Scope, platform?: Platform): Promise<ImageSource> {
  const dir = await scope.tempDir('slim-oci-');
  await unpackOciArchive(file, dir);
  return { ...(await layoutSource(dir, tag, label, platform)), close: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Only the layout's own names are accepted, as regular files, so no entry can land elsewhere,
 * and each blob must match its name's digest.
 */
async function unpackOciArchive(file: string, into: string): Promise<void> {
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
      const hash = new HashingStream();
      await pipeline(item as unknown as Readable, hash, createWriteStream(join(into, n)));
      const actual = hash.digest.digest;
      if (n.startsWith('blobs/') && actual !== `sha256:${n.slice(13)}`) {
        throw new UnsafeImageError(`${label}: blob sha256:${n.slice(13)} does not match its digest: its content is ${actual}`);
      }
    }
    await feeding;
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw new SlimError(`cannot read ${label}: ${(err as Error).message}`, { code: 'BAD_ARCHIVE', cause: err });
  }
}
