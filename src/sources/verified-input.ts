import { createHash } from 'node:crypto';
import { lstat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Digest, ImageConfig } from '../image/types.js';
import { isDigest } from '../image/types.js';
import { applyLayer, type TarEntry } from '../rootfs/flatten.js';
import { FileIndex } from '../rootfs/file-index.js';
import { SlimError, UnsafeImageError } from '../errors.js';
import { readLayerTar } from './layer-tar.js';
import { readArchiveBlobs } from './archive-blobs.js';
import { isGzip, isZstd, peek } from './peek.js';
import { zstdDecompress } from './zstd.js';
import { MAX_JSON, metadataJson, missingPart, openRegular, readRegular } from './archive-meta.js';

/**
 * A file input (docker-archive, OCI layout) checked while it streams to the engine: every blob
 * against its digest (config, manifests, layers; a docker-archive's layers against the config's
 * rootfs.diff_ids), every layer entry through slim's own safe-path and flattening rules. What the
 * engine gets is a docker-archive written here, of the checked bytes only, under names slim
 * chose; its manifest.json comes last and is written only when every check passed, so an input
 * that fails one is never loaded (the load is aborted, and without manifest.json there is no image).
 */
export interface VerifiedImage {
  /** The sha256 of the config's bytes: the image ID the engine gives it. */
  configDigest: Digest;
  config: ImageConfig;
  layers: number;
}

/** Called once the image is checked, with its true ID, before manifest.json is written: the tags it gets (RepoTags). */
export type NameImage = (configDigest: Digest) => Promise<string[]>;

const sha256 = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One layer as checked: the digests of its bytes as stored and uncompressed, and its entries. */
interface CheckedLayer {
  name: string;
  digest: Digest;
  diffId: Digest;
  size: number;
  entries: TarEntry[];
  /** Its name in the archive written for the engine. */
  out: string;
}

/** File bytes are not kept: only the entries are checked here (the engine's copy is read later). */
const DISCARD = {
  async append(layer: number, chunks: AsyncIterable<Buffer>) {
    let size = 0;
    for await (const c of chunks) size += c.length;
    return { layer, offset: 0, size };
  },
};

/** A docker-archive (what `docker save` writes), read in one pass. */
export async function verifyDockerArchive(input: Readable, label: string, out: tar.Pack, name: NameImage): Promise<VerifiedImage> {
  let outNo = 0;
  const { small, layers, resolve } = await readArchiveBlobs(input, label, async (n, stream, size) => {
    const layer = await forwardLayer(stream, size, n, `layers/${outNo++}.tar`, label, out);
    namedDigest(n, layer.digest, label);
    return layer;
  });
  for (const [n, body] of small) namedDigest(n, sha256(body), label);
  const manifestRaw = small.get('manifest.json');
  if (!manifestRaw) throw new SlimError(`${label} is not a docker-archive: it has no manifest.json`, { code: 'BAD_ARCHIVE' });
  const list = metadataJson<{ Config?: string; Layers?: string[] }[]>(manifestRaw, label, 'manifest.json');
  const first = Array.isArray(list) ? list[0] : undefined;
  if (!first || typeof first.Config !== 'string' || !Array.isArray(first.Layers)) throw new SlimError(`${label}: manifest.json lists no image`, { code: 'BAD_ARCHIVE' });
  if (list.length > 1) throw new SlimError(`${label} holds ${list.length} images; slim reads one at a time`, { code: 'BAD_ARCHIVE' });
  const configRaw = small.get(resolve(first.Config));
  if (!configRaw) throw missingPart(label, `config ${first.Config}`, 'manifest.json');
  const configDigest = sha256(configRaw);
  const config = metadataJson<ImageConfig>(configRaw, label, `config ${first.Config}`);
  const ordered: CheckedLayer[] = [];
  for (const ln of first.Layers) {
    const n = resolve(ln);
    let layer = layers.get(n);
    const body = small.get(n);
    // A layer too small to tell from its first bytes (an empty tar) was kept as a small file.
    if (!layer && body) {
      layer = await forwardLayer(Readable.from([body]), body.length, n, `layers/${outNo++}.tar`, label, out);
      layers.set(n, layer);
    }
    if (!layer) throw missingPart(label, `layer ${ln}`, 'manifest.json');
    ordered.push(layer);
  }
  checkDiffIds(config, ordered, label);
  checkEntries(ordered, label);
  const hex = configDigest.slice(7);
  const tags = await name(configDigest);
  await addBuffer(out, `${hex}.json`, configRaw);
  await addBuffer(out, 'manifest.json', Buffer.from(JSON.stringify([{ Config: `${hex}.json`, RepoTags: tags.length ? tags : null, Layers: ordered.map((l) => l.out) }])));
  out.finalize();
  return { configDigest, config, layers: ordered.length };
}

/** A name that states a digest (`<hex>.json` for a docker-save config, `blobs/sha256/<hex>`) must be the digest of the bytes. */
function namedDigest(name: string, actual: Digest, label: string): void {
  const hex = /^(?:blobs\/sha256\/([0-9a-f]{64})|([0-9a-f]{64})\.json)$/.exec(name);
  const claimed = hex ? `sha256:${hex[1] ?? hex[2]}` : undefined;
  if (claimed && claimed !== actual) throw new UnsafeImageError(`${label}: ${name} is named for ${claimed} but its content is ${actual}`);
}

type Desc = { digest: string; size?: number; mediaType?: string; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } };

/** An OCI image layout in a directory: blobs are read only as regular files inside it, each checked against its digest. */
export async function verifyLayout(dir: string, tag: string | undefined, label: string, out: tar.Pack, name: NameImage): Promise<VerifiedImage> {
  const indexRaw = await readRegular(join(dir, 'index.json'), 'index.json', label, () => new SlimError(`${label} is not an OCI image layout (no index.json)`, { code: 'BAD_ARCHIVE' }));
  const index = metadataJson<{ manifests?: Desc[] }>(indexRaw, label, 'index.json');
  if (index.manifests !== undefined && !Array.isArray(index.manifests)) throw new SlimError(`${label}: index.json: "manifests" is not a list`, { code: 'BAD_ARCHIVE' });
  for (const d of ['blobs', 'blobs/sha256']) {
    const st = await lstat(join(dir, d)).catch(() => undefined);
    if (!st) throw new SlimError(`${label} is not an OCI image layout (no ${d}/)`, { code: 'BAD_ARCHIVE' });
    if (!st.isDirectory()) throw new UnsafeImageError(`${label}: ${d} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; slim reads blobs only from inside the layout`);
  }
  const all = index.manifests ?? [];
  const chosen = tag ? all.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) : all;
  if (chosen.length !== 1) {
    const names = all.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
    throw new SlimError(tag ? `${label} has no image tagged ${tag}` : `${label} holds ${all.length} images: name one with :TAG`, { code: 'BAD_ARCHIVE', hint: names.length ? `tags: ${names.join(', ')}` : 'the layout names no tags' });
  }
  let desc = chosen[0]!;
  let namedIn = 'index.json';
  let manifest: { config?: Desc; layers?: Desc[] } | undefined;
  for (let depth = 0; depth < 4 && !manifest; depth++) {
    const doc = metadataJson<{ manifests?: Desc[]; config?: Desc; layers?: Desc[] }>(await readBlob(dir, desc, 'manifest', label, namedIn), label, `manifest ${desc.digest}`);
    if (Array.isArray(doc.manifests)) {
      const next = doc.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? doc.manifests[0];
      if (!next) break;
      namedIn = `index ${desc.digest}`;
      desc = next;
    } else if (doc.config && Array.isArray(doc.layers)) {
      manifest = doc;
      namedIn = `manifest ${desc.digest}`;
    } else break;
  }
  if (!manifest?.config || !manifest.layers) throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
  const configRaw = await readBlob(dir, manifest.config, 'config', label, namedIn);
  const configDigest = manifest.config.digest as Digest;
  const config = metadataJson<ImageConfig>(configRaw, label, `config ${configDigest}`);
  const checked = new Map<string, CheckedLayer>();
  const ordered: CheckedLayer[] = [];
  for (const l of manifest.layers) {
    let layer = checked.get(l.digest);
    if (!layer) {
      const blob = await openBlob(dir, l.digest, label, namedIn);
      if (l.size !== undefined && l.size !== blob.size) {
        await blob.fh.close();
        throw new UnsafeImageError(`${label}: layer blob ${l.digest} is ${blob.size} bytes, the manifest says ${l.size}`);
      }
      layer = await forwardLayer(blob.fh.createReadStream(), blob.size, l.digest, `blobs/sha256/${l.digest.slice(7)}`, label, out);
      if (layer.digest !== l.digest) throw new UnsafeImageError(`${label}: layer blob ${l.digest} does not match its digest: its content is ${layer.digest}`);
      checked.set(l.digest, layer);
    }
    ordered.push(layer);
  }
  checkDiffIds(config, ordered, label);
  checkEntries(ordered, label);
  const tags = await name(configDigest);
  const configName = `blobs/sha256/${configDigest.slice(7)}`;
  await addBuffer(out, configName, configRaw);
  await addBuffer(out, 'manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: tags.length ? tags : null, Layers: ordered.map((l) => l.out) }])));
  out.finalize();
  return { configDigest, config, layers: ordered.length };
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

/**
 * Open a blob of a layout: only a regular file at blobs/sha256/<hex>, never through a symlink
 * (lstat first, so that a fifo is not even opened; then O_NOFOLLOW, and the same inode).
 */
async function openBlob(dir: string, digest: string, label: string, namedIn: string): Promise<{ fh: FileHandle; size: number }> {
  if (!isDigest(digest)) throw new UnsafeImageError(`${label}: bad digest "${String(digest).slice(0, 80)}" in ${namedIn}`);
  const path = join(dir, 'blobs', 'sha256', digest.slice(7));
  const fh = await openRegular(path, `blob ${digest}`, label, () => missingPart(label, `blob ${digest}`, namedIn));
  return { fh, size: (await fh.stat()).size };
}

/** Each layer's uncompressed digest must be the config's rootfs.diff_ids entry at its place. */
function checkDiffIds(config: ImageConfig, layers: CheckedLayer[], label: string): void {
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new UnsafeImageError(`${label}: the config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} layers (rootfs.diff_ids), the manifest ${layers.length}`);
  }
  layers.forEach((l, i) => {
    if (l.diffId !== diffIds[i]) throw new UnsafeImageError(`${label}: layer ${l.name} does not match its digest: uncompressed it is ${l.diffId}, the config's rootfs.diff_ids[${i}] says ${diffIds[i]}`);
  });
}

/** slim's own rules for layer entries (no `..`, hard links inside the image, parents through the image's own symlinks), layer by layer, base first. */
function checkEntries(layers: CheckedLayer[], label: string): void {
  const index = new FileIndex();
  layers.forEach((l, i) => {
    try {
      applyLayer(index, i, l.entries);
    } catch (err) {
      if (err instanceof UnsafeImageError) throw new UnsafeImageError(`${label}: layer ${l.name}: ${err.message}`);
      throw err;
    }
  });
}

/**
 * Stream one layer blob to the engine (as entry `outName` of `out`) and, from the same bytes, its
 * digest, its uncompressed digest and its tar entries. The entry is complete only when the whole
 * blob passed through; a layer that is not a readable tar fails here.
 */
async function forwardLayer(raw: Readable, size: number, name: string, outName: string, label: string, out: tar.Pack): Promise<CheckedLayer> {
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((ok, fail) => (settle = (err) => (err ? fail(err) : ok())));
  done.catch(() => {});
  const forward = out.entry({ name: outName, size, mode: 0o644, mtime: new Date(0) }, (err) => settle(err)) as unknown as Writable;
  const rawHash = createHash('sha256');
  const diffHash = createHash('sha256');
  let bytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      rawHash.update(chunk);
      bytes += chunk.length;
      writeTo(forward, chunk).then(() => cb(null, chunk), cb);
    },
  });
  const diffTap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diffHash.update(chunk);
      cb(null, chunk);
    },
  });
  const layerLabel = `layer ${name} of ${label}`;
  const feeding = pipeline(raw, tee);
  feeding.catch(() => {});
  try {
    const { head, stream } = await peek(tee, 4);
    const decompress = isGzip(head) ? createGunzip() : isZstd(head) ? zstdDecompress(layerLabel) : undefined;
    const plumbing = decompress ? pipeline(stream, decompress, diffTap) : pipeline(stream, diffTap);
    plumbing.catch(() => {});
    const entries = await readLayerTar(diffTap, 0, DISCARD, layerLabel);
    await Promise.all([feeding, plumbing]);
    if (bytes !== size) throw new UnsafeImageError(`${layerLabel} is ${bytes} bytes, not ${size}`);
    forward.end();
    await done;
    return { name, digest: `sha256:${rawHash.digest('hex')}`, diffId: `sha256:${diffHash.digest('hex')}`, size: bytes, entries, out: outName };
  } catch (err) {
    raw.destroy();
    tee.destroy();
    diffTap.destroy();
    throw err;
  }
}

/** Write with backpressure; a destination that goes away (the engine stopped reading) fails the write instead of hanging it. */
function writeTo(w: Writable, chunk: Buffer): Promise<void> {
  if (w.destroyed) return Promise.reject(new Error('the engine stopped reading the image'));
  if (w.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const off = () => {
      w.off('drain', onDrain);
      w.off('close', onClose);
      w.off('error', onClose);
    };
    const onDrain = () => {
      off();
      resolve();
    };
    const onClose = () => {
      off();
      reject(new Error('the engine stopped reading the image'));
    };
    w.on('drain', onDrain);
    w.on('close', onClose);
    w.on('error', onClose);
  });
}

function addBuffer(out: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => out.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve())));
}
