import { lstat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest, ImageConfig } from '../image/types.js';
import { isDigest } from '../image/types.js';
import { sha256 } from '../image/digest.js';
import { SlimError, UnsafeImageError } from '../errors.js';
import { MAX_JSON, metadataJson, missingPart, openRegular, readRegular } from './archive-meta.js';
import { checkedStream, type ConfigBlob, type ImageSource, type LayerBlob } from './image-source.js';
import { chooseManifest, parseIndex, type Desc } from './oci-index.js';
import type { Platform } from '../image/platform.js';

/**
 * An OCI image layout in a directory. Blobs are read only as regular files inside it, never
 * through a symlink, and each is checked against its digest and size as it is read: the
 * manifests and the config whole, a layer as it streams (its stream fails at its end). An index
 * of several platforms gives the image for `platform`, else the host's.
 */
export async function layoutSource(dir: string, tag: string | undefined, label: string, platform?: Platform): Promise<ImageSource> {
  const index = parseIndex(await readRegular(join(dir, 'index.json'), 'index.json', label, () => new SlimError(`${label} is not an OCI image layout (no index.json)`, { code: 'BAD_ARCHIVE' })), label);
  for (const d of ['blobs', 'blobs/sha256']) {
    const st = await lstat(join(dir, d)).catch(() => undefined);
    if (!st) throw new SlimError(`${label} is not an OCI image layout (no ${d}/)`, { code: 'BAD_ARCHIVE' });
    if (!st.isDirectory()) throw new UnsafeImageError(`${label}: ${d} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; slim reads blobs only from inside the layout`);
  }
  const manifest = await chooseManifest(index, tag, label, (desc, namedIn) => readBlob(dir, desc, 'manifest', label, namedIn), platform);
  const { namedIn } = manifest;
  let config: Promise<ConfigBlob> | undefined;
  let layers: Promise<LayerBlob[]> | undefined;
  return {
    label,
    untrusted: true,
    config: () =>
      (config ??= readBlob(dir, manifest.config, 'config', label, namedIn).then((raw) => {
        const digest = manifest.config.digest as Digest;
        return { raw, digest, config: metadataJson<ImageConfig>(raw, label, `config ${digest}`) };
      })),
    layers: () => (layers ??= Promise.all(manifest.layers.map((l) => layerBlob(dir, l, label, namedIn)))),
  };
}

/** A layer of the layout, its size checked against its descriptor now and again at each open. */
async function layerBlob(dir: string, desc: Desc, label: string, namedIn: string): Promise<LayerBlob> {
  const sized = async () => {
    const blob = await openBlob(dir, desc.digest, label, namedIn);
    if (desc.size !== undefined && desc.size !== blob.size) {
      await blob.fh.close();
      throw new UnsafeImageError(`${label}: layer blob ${desc.digest} is ${blob.size} bytes, the manifest says ${desc.size}`);
    }
    return blob;
  };
  const first = await sized();
  await first.fh.close();
  const digest = desc.digest as Digest;
  return {
    name: digest,
    digest,
    size: first.size,
    async open(signal) {
      const { fh, size } = await sized();
      const refuse = (actual: Digest, bytes: number) =>
        bytes !== size ? new UnsafeImageError(`layer ${digest} of ${label} is ${bytes} bytes, not ${size}`) : actual !== digest ? new UnsafeImageError(`${label}: layer blob ${digest} does not match its digest: its content is ${actual}`) : undefined;
      // Reads of a megabyte, as for a docker-archive's layers (archive-source.ts).
      return checkedStream(fh.createReadStream({ highWaterMark: 1 << 20, ...(signal ? { signal } : {}) }), refuse);
    },
  };
}

/** A JSON blob (manifest, index, config) of a layout: a regular file in it, its bytes matching its digest and size. */
async function readBlob(dir: string, desc: Desc, what: string, label: string, namedIn: string): Promise<Buffer> {
  const { fh, size } = await openBlob(dir, desc.digest, label, namedIn);
  try {
    if (size > MAX_JSON) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} is ${size} bytes, too big for a ${what}`);
    const body = await fh.readFile();
    const actual = sha256(body);
    if (actual !== desc.digest) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} does not match its digest: its content is ${actual}`);
    if (desc.size !== undefined && desc.size !== body.length) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} is ${body.length} bytes, its descriptor says ${desc.size}`);
    return body;
  } finally {
    await fh.close();
  }
}

/** Only a regular file at blobs/sha256/<hex> (openRegular: lstat first, then O_NOFOLLOW and the same inode). */
async function openBlob(dir: string, digest: string, label: string, namedIn: string): Promise<{ fh: FileHandle; size: number }> {
  if (!isDigest(digest)) throw new UnsafeImageError(`${label}: bad digest "${String(digest).slice(0, 80)}" in ${namedIn}`);
  const path = join(dir, 'blobs', 'sha256', digest.slice(7));
  const fh = await openRegular(path, `blob ${digest}`, label, () => missingPart(label, `blob ${digest}`, namedIn));
  return { fh, size: (await fh.stat()).size };
}
