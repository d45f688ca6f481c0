import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Digest, ImageConfig, Manifest } from '../image/types.js';
import type { TarEntry } from '../rootfs/flatten.js';
import { flatten } from '../rootfs/flatten.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentSpool } from './content-spool.js';
import { readLayerTar } from './layer-tar.js';
import type { Compression } from './peek.js';
import { SlimError } from '../errors.js';
import { readArchiveBlobs } from './archive-blobs.js';

/** An image read into memory as metadata only: its config, and its flattened filesystem whose bytes sit in the spool. */
export interface ReadImage {
  config: ImageConfig;
  configRaw: Buffer;
  configDigest: Digest;
  layerCount: number;
  index: FileIndex;
  /** Each layer's own entries, base first; only when asked for (keepLayers), as it holds every header twice. */
  layers?: LayerRead[];
}

/** One layer as it came out of the archive. */
export interface LayerRead {
  entries: TarEntry[];
  /** The size of the layer blob in the archive, as stored (plain tar, gzip or zstd). */
  archiveBytes: number;
  compression: Compression;
}

/**
 * Read an image archive in one pass: `docker save` output (manifest.json) or an OCI layout in a
 * tar (index.json). The layer order is only known from the manifest, which may come last, so
 * every layer is read as it passes and ordered at the end.
 */
export async function readImageArchive(input: Readable, spool: ContentSpool, label: string, opts: { keepLayers?: boolean } = {}): Promise<ReadImage> {
  let layerNo = 0;
  const { small: blobs, layers, resolve } = await readArchiveBlobs(input, label, async (name, stream, size, compression): Promise<LayerRead> => ({
    entries: await readLayerTar(stream, layerNo++, spool, `layer ${name} of ${label}`),
    archiveBytes: size,
    compression,
  }));
  const lookup = (n: string) => blobs.get(resolve(n));
  const layerOf = (n: string) => layers.get(resolve(n));

  const { configName, layerNames } = findManifest(blobs, lookup, label);
  const configRaw = lookup(configName);
  if (!configRaw) throw new SlimError(`${label} has no config blob ${configName}`, { code: 'BAD_ARCHIVE' });
  const ordered = layerNames.map((n) => {
    const layer = layerOf(n);
    if (!layer) throw new SlimError(`${label} lacks layer ${n}`, { code: 'BAD_ARCHIVE' });
    return layer;
  });
  // Layers were numbered in archive order; renumber them in image order so entries say which layer they came from.
  const renumbered = ordered.map((l, i) => ({ ...l, entries: l.entries.map((e) => (e.at ? { ...e, at: { ...e.at, layer: i } } : e)) }));
  return {
    config: JSON.parse(configRaw.toString('utf8')) as ImageConfig,
    configRaw,
    configDigest: `sha256:${createHash('sha256').update(configRaw).digest('hex')}`,
    layerCount: ordered.length,
    index: flatten(renumbered.map((l) => l.entries)),
    ...(opts.keepLayers ? { layers: renumbered } : {}),
  };
}

function findManifest(blobs: Map<string, Buffer>, lookup: (n: string) => Buffer | undefined, label: string): { configName: string; layerNames: string[] } {
  const dockerManifest = blobs.get('manifest.json');
  if (dockerManifest) {
    const list = JSON.parse(dockerManifest.toString('utf8')) as { Config: string; Layers: string[] }[];
    const first = list[0];
    if (!first) throw new SlimError(`${label}: manifest.json lists no image`, { code: 'BAD_ARCHIVE' });
    if (list.length > 1) throw new SlimError(`${label} holds ${list.length} images; slim reads one at a time`, { code: 'BAD_ARCHIVE' });
    return { configName: first.Config, layerNames: first.Layers };
  }
  const index = blobs.get('index.json');
  if (index) {
    const blobName = (d: string) => `blobs/${d.replace(':', '/')}`;
    let desc = (JSON.parse(index.toString('utf8')) as { manifests: { digest: string; mediaType: string }[] }).manifests[0];
    for (let depth = 0; desc && depth < 4; depth++) {
      const doc = JSON.parse(lookup(blobName(desc.digest))?.toString('utf8') ?? 'null') as (Manifest & { manifests?: { digest: string; mediaType: string; platform?: { os: string; architecture: string } }[] }) | null;
      if (!doc) break;
      if (doc.manifests) {
        desc = doc.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? doc.manifests[0];
        continue;
      }
      return { configName: blobName(doc.config.digest), layerNames: doc.layers.map((l) => blobName(l.digest)) };
    }
  }
  throw new SlimError(`${label} is neither a docker-archive (manifest.json) nor an OCI archive (index.json)`, { code: 'BAD_ARCHIVE' });
}
