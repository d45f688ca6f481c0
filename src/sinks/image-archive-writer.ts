import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType } from '../image/types.js';
import { SlimError } from '../errors.js';

const blob = (d: string) => `blobs/${d.replace(':', '/')}`;

/**
 * One tarball that is both an OCI image layout and a docker-archive (manifest.json pointing at
 * the same blobs), so `docker load`, skopeo and umoci all read it. Entries are written in a fixed
 * order with fixed metadata, so the archive itself is reproducible.
 */
export function imageArchiveStream(img: BuiltImage, opts: { refName?: string; repoTags?: string[] } = {}): Readable {
  const pack = tar.pack();
  const fixed = { mtime: new Date(0), uid: 0, gid: 0, mode: 0o644 };
  const addBuf = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ ...fixed, name, size: data.length }, data, (err) => (err ? reject(err) : resolve())));
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      {
        mediaType: MediaType.ociManifest,
        digest: img.manifestDigest,
        size: img.manifestRaw.length,
        ...(opts.refName ? { annotations: { 'org.opencontainers.image.ref.name': opts.refName } } : {}),
      },
    ],
  };
  const dockerManifest = [{ Config: blob(img.configDigest), RepoTags: opts.repoTags?.length ? opts.repoTags : null, Layers: img.layers.map((l) => blob(l.digest)) }];
  (async () => {
    await addBuf('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await addBuf(blob(img.configDigest), img.configRaw);
    await addBuf(blob(img.manifestDigest), img.manifestRaw);
    for (const layer of img.layers) {
      const entry = pack.entry({ ...fixed, name: blob(layer.digest), size: layer.size });
      await pipeline(createReadStream(layer.path), entry);
    }
    await addBuf('index.json', Buffer.from(JSON.stringify(index)));
    await addBuf('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

/**
 * Write an archive to FILE. Written to a temporary name next to it and renamed into place, so a
 * failure or Ctrl-C never leaves a half-written image under the name.
 */
export async function writeArchiveFile(file: string, label: string, archive: () => Readable, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const tmp = `${file}.slim-tmp-${process.pid}`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await pipeline(archive(), createWriteStream(tmp), { signal });
    signal.throwIfAborted();
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (signal.aborted) throw signal.reason;
    throw new SlimError(`writing ${label}: ${(err as Error).message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
}
