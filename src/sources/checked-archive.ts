import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type tar from 'tar-stream';
import type { Digest, ImageConfig } from '../image/types.js';
import { UnsafeImageError } from '../errors.js';
import { checkDiffIds, flattenChecked, type ReadLayer } from './image-checks.js';
import type { ImageSource, LayerBlob } from './image-source.js';
import { scanLayerTar } from './layer-tar.js';

/**
 * A file input, written for the engine as a docker-archive of checked bytes only, under names
 * slim chose: every blob against its digest as the source streams it, every layer's
 * uncompressed digest against the config's rootfs.diff_ids, every layer entry through slim's
 * own safe-path and flattening rules. manifest.json comes last and is written only when every
 * check passed, so an input that fails one is never loaded (the load is aborted, and without
 * manifest.json there is no image).
 */
export interface CheckedImage {
  /** The sha256 of the config's bytes: the image ID the engine gives it. */
  configDigest: Digest;
  config: ImageConfig;
  layers: number;
}

/** Called once the image is checked, with its true ID, before manifest.json is written: the tags it gets (RepoTags). */
export type NameImage = (configDigest: Digest) => Promise<string[]>;

/** File bytes are not kept: only the entries are checked here (slim reads its own copy through read-image.ts). */
const DISCARD = {
  async append(layer: number, chunks: AsyncIterable<Buffer>) {
    let size = 0;
    for await (const c of chunks) size += c.length;
    return { layer, offset: 0, size };
  },
};

export async function writeCheckedArchive(source: ImageSource, out: tar.Pack, name: NameImage, signal?: AbortSignal): Promise<CheckedImage> {
  const { raw, digest, config } = await source.config();
  const blobs = await source.layers();
  // A layout's blobs keep their names; a docker-archive's layers are numbered, as docker save names none by digest.
  const byDigest = blobs.every((b) => b.digest);
  const forwarded = new Map<string, ReadLayer & { out: string }>();
  const ordered: (ReadLayer & { out: string })[] = [];
  for (const blob of blobs) {
    let layer = forwarded.get(blob.name);
    if (!layer) {
      const outName = byDigest ? `blobs/sha256/${blob.digest!.slice(7)}` : `layers/${forwarded.size}.tar`;
      layer = { ...(await forwardLayer(await blob.open(signal), blob, outName, source.label, out)), out: outName };
      forwarded.set(blob.name, layer);
    }
    ordered.push(layer);
  }
  checkDiffIds(config, ordered, source.label);
  flattenChecked(ordered, source.label);
  const tags = await name(digest);
  const configName = byDigest ? `blobs/sha256/${digest.slice(7)}` : `${digest.slice(7)}.json`;
  await addBuffer(out, configName, raw);
  await addBuffer(out, 'manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: tags.length ? tags : null, Layers: ordered.map((l) => l.out) }])));
  out.finalize();
  return { configDigest: digest, config, layers: ordered.length };
}

/**
 * Stream one layer blob to the engine (as entry `outName` of `out`) and, from the same bytes, its
 * uncompressed digest and its tar entries. The entry is complete only when the whole blob passed
 * through; a layer that is not a readable tar, or whose bytes the source refuses, fails here.
 */
async function forwardLayer(raw: Readable, blob: LayerBlob, outName: string, label: string, out: tar.Pack): Promise<ReadLayer> {
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((ok, fail) => (settle = (err) => (err ? fail(err) : ok())));
  done.catch(() => {});
  const forward = out.entry({ name: outName, size: blob.size, mode: 0o644, mtime: new Date(0) }, (err) => settle(err)) as unknown as Writable;
  // An entry cut short (a refused blob, a load that stopped) fails through its callback above; the event would go unheard.
  forward.on('error', () => {});
  let bytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      writeTo(forward, chunk).then(() => cb(null, chunk), cb);
    },
  });
  const layerLabel = `layer ${blob.name} of ${label}`;
  const feeding = pipeline(raw, tee);
  feeding.catch(() => {});
  try {
    const scan = await scanLayerTar(tee, 0, DISCARD, layerLabel, { diffId: true });
    await feeding;
    if (bytes !== blob.size) throw new UnsafeImageError(`${layerLabel} is ${bytes} bytes, not ${blob.size}`);
    forward.end();
    await done;
    return { name: blob.name, ...(scan.diffId ? { diffId: scan.diffId } : {}), entries: scan.entries };
  } catch (err) {
    raw.destroy();
    tee.destroy();
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
