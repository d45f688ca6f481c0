import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest, ImageConfig, Manifest } from '../image/types.js';
import type { TarEntry } from '../rootfs/flatten.js';
import { flatten } from '../rootfs/flatten.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentSpool } from './content-spool.js';
import { readLayerTar } from './layer-tar.js';
import type { Compression } from './peek.js';
import { SlimError } from '../errors.js';
import { readArchiveBlobs } from './archive-blobs.js';
import { metadataJson, missingPart } from './archive-meta.js';

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
export async function readImageArchive(input: Readable, spool: ContentSpool, label: string, opts: { keepLayers?: boolean; tag?: string } = {}): Promise<ReadImage> {
  let layerNo = 0;
  const { small: blobs, layers, resolve } = await readArchiveBlobs(input, label, async (name, stream, size, compression): Promise<LayerRead> => ({
    entries: await readLayerTar(stream, layerNo++, spool, `layer ${name} of ${label}`),
    archiveBytes: size,
    compression,
  }));
  const lookup = (n: string) => blobs.get(resolve(n));
  const layerOf = (n: string) => layers.get(resolve(n));

  const { configName, layerNames, namedIn } = findManifest(blobs, lookup, label, opts.tag);
  const configRaw = lookup(configName);
  if (!configRaw) throw missingPart(label, `config ${configName}`, namedIn);
  const config = metadataJson<ImageConfig>(configRaw, label, `config ${configName}`);
  const ordered: LayerRead[] = [];
  for (const n of layerNames) {
    let layer = layerOf(n);
    // A layer too small to tell from its first bytes (an empty tar) was kept as a small file.
    const body = layer ? undefined : lookup(n);
    if (body) layer = { entries: await readLayerTar(Readable.from([body]), layerNo++, spool, `layer ${n} of ${label}`), archiveBytes: body.length, compression: 'none' };
    if (!layer) throw missingPart(label, `layer ${n}`, namedIn);
    ordered.push(layer);
  }
  // Layers were numbered in archive order; renumber them in image order so entries say which layer they came from.
  const renumbered = ordered.map((l, i) => ({ ...l, entries: l.entries.map((e) => (e.at ? { ...e, at: { ...e.at, layer: i } } : e)) }));
  return {
    config,
    configRaw,
    configDigest: `sha256:${createHash('sha256').update(configRaw).digest('hex')}`,
    layerCount: ordered.length,
    index: flatten(renumbered.map((l) => l.entries)),
    ...(opts.keepLayers ? { layers: renumbered } : {}),
  };
}

type Desc = { digest: string; mediaType?: string; annotations?: Record<string, string>; platform?: { os: string; architecture: string } };

function findManifest(blobs: Map<string, Buffer>, lookup: (n: string) => Buffer | undefined, label: string, tag: string | undefined): { configName: string; layerNames: string[]; namedIn: string } {
  const dockerManifest = blobs.get('manifest.json');
  if (dockerManifest) {
    const list = metadataJson<{ Config?: string; Layers?: string[] }[]>(dockerManifest, label, 'manifest.json');
    const first = Array.isArray(list) ? list[0] : undefined;
    if (!first || typeof first.Config !== 'string' || !Array.isArray(first.Layers)) throw new SlimError(`${label}: manifest.json lists no image`, { code: 'BAD_ARCHIVE' });
    if (list.length > 1) throw new SlimError(`${label} holds ${list.length} images; slim reads one at a time`, { code: 'BAD_ARCHIVE' });
    return { configName: first.Config, layerNames: first.Layers, namedIn: 'manifest.json' };
  }
  const index = blobs.get('index.json');
  if (index) {
    const blobName = (d: string) => `blobs/${String(d).replace(':', '/')}`;
    const all = metadataJson<{ manifests?: Desc[] }>(index, label, 'index.json').manifests;
    if (!Array.isArray(all)) throw new SlimError(`${label}: index.json lists no manifests`, { code: 'BAD_ARCHIVE' });
    // The same choice as for a layout loaded into the engine (verified-input.ts): by tag, or the only one.
    const chosen = tag ? all.filter((m) => m?.annotations?.['org.opencontainers.image.ref.name'] === tag) : all;
    if (chosen.length !== 1) {
      const names = all.map((m) => m?.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
      throw new SlimError(tag ? `${label} has no image tagged ${tag}` : `${label} holds ${all.length} images: name one with :TAG`, { code: 'BAD_ARCHIVE', hint: names.length ? `tags: ${names.join(', ')}` : 'the layout names no tags' });
    }
    let desc = chosen[0];
    let namedIn = 'index.json';
    for (let depth = 0; desc && depth < 4; depth++) {
      const what = `manifest ${desc.digest}`;
      const doc = metadataJson<Manifest & { manifests?: Desc[] }>(lookup(blobName(desc.digest)), label, `blob ${desc.digest}`, namedIn);
      if (Array.isArray(doc.manifests)) {
        namedIn = `index ${desc.digest}`;
        desc = doc.manifests.find((m) => m?.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? doc.manifests[0];
        continue;
      }
      if (!doc.config || !Array.isArray(doc.layers)) throw new SlimError(`${label}: ${what} is not an image manifest`, { code: 'BAD_ARCHIVE' });
      return { configName: blobName(doc.config.digest), layerNames: doc.layers.map((l) => blobName(l.digest)), namedIn: what };
    }
    throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
  }
  throw new SlimError(`${label} is neither a docker-archive (manifest.json) nor an OCI archive (index.json)`, { code: 'BAD_ARCHIVE' });
}
