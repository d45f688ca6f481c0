import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Stats } from 'node:fs';
import tar from 'tar-stream';
import type { Digest, ImageConfig } from '../image/types.js';
import { sha256 } from '../image/digest.js';
import { InternalError, SlimError, UnsafeImageError } from '../errors.js';
import { joinInside, parentOf } from '../rootfs/safe-path.js';
import { MAX_JSON, badArchive, metadataJson, missingPart } from './archive-meta.js';
import { checkedStream, type ConfigBlob, type ImageSource, type LayerBlob } from './image-source.js';
import { chooseManifest, parseIndex } from './oci-index.js';
import type { Platform } from '../image/platform.js';

export interface ArchiveOptions {
  /** A file input: every blob whose name states a digest (`<hex>.json`, `blobs/sha256/<hex>`) must have it. */
  untrusted: boolean;
  /** Without manifest.json, read the OCI layout in the tar (index.json), the manifest tagged `tag`: what an engine's save may be. */
  layout?: { tag?: string; platform?: Platform };
}

/** The archive's bytes as they are written to its file (the engine's save), scanned as they pass instead of read again. */
export interface Writing {
  bytes: Readable;
  to: FileHandle;
}

/** Reads of a megabyte: a layer's bytes go through the layer reader in a quarter of the steps of the default 64 KiB. */
const CHUNK = 1 << 20;

/** Where an entry's bytes are in the archive. */
interface Located {
  offset: number;
  size: number;
}

/**
 * A docker-archive (what `docker save` writes), in a file. One pass with tar-stream finds every
 * entry's place; manifest.json and the config are then read from there, and each layer's
 * open() is a fresh read of just that entry's bytes, so no layer is held or unpacked.
 */
export async function dockerArchiveSource(file: string, label: string, opts: ArchiveOptions, writing?: Writing): Promise<ImageSource> {
  const { entries, aliases } = await scan(writing?.bytes ?? createReadStream(file, { highWaterMark: CHUNK }), label, writing?.to);
  const scanned = await stat(file);
  // docker save links a layer that two images share; a name resolves through those links once.
  const resolve = (n: string) => (entries.has(n) ? n : aliases.get(n) ?? n);
  const entry = (n: string) => entries.get(resolve(n));
  const readEntry = async (n: string): Promise<Buffer | undefined> => {
    const at = entry(n);
    if (!at) return undefined;
    if (at.size > MAX_JSON) throw new UnsafeImageError(`${label}: ${n} is ${at.size} bytes, too big for image metadata`);
    const raw = await readRange(file, scanned, at, label);
    if (opts.untrusted) namedDigest(resolve(n), sha256(raw), label);
    return raw;
  };
  const { configName, layerNames, namedIn } = await imageParts(readEntry, label, opts);
  let config: Promise<ConfigBlob> | undefined;
  const readConfig = async (): Promise<ConfigBlob> => {
    const raw = await readEntry(configName);
    if (!raw) throw missingPart(label, `config ${configName}`, namedIn);
    return { raw, digest: sha256(raw), config: metadataJson<ImageConfig>(raw, label, `config ${configName}`) };
  };
  const layerOf = (ln: string): LayerBlob => {
    const name = resolve(ln);
    const at = entries.get(name);
    if (!at) throw missingPart(label, `layer ${ln}`, namedIn);
    const claimed = claimedDigest(name);
    return {
      name,
      ...(claimed ? { digest: claimed } : {}),
      size: at.size,
      async open(signal) {
        const raw = await openRange(file, scanned, at, label, signal);
        return opts.untrusted && claimed ? checkedStream(raw, (actual) => namedDigestError(name, claimed, actual, label)) : raw;
      },
    };
  };
  return {
    label,
    untrusted: opts.untrusted,
    config: () => (config ??= readConfig()),
    layers: async () => layerNames.map(layerOf),
  };
}

/** The image's config and layers by their names in the archive, and the file that named them. */
async function imageParts(readEntry: (n: string) => Promise<Buffer | undefined>, label: string, opts: ArchiveOptions): Promise<{ configName: string; layerNames: string[]; namedIn: string }> {
  const manifestRaw = await readEntry('manifest.json');
  if (manifestRaw) {
    const list = metadataJson<{ Config?: string; Layers?: string[] }[]>(manifestRaw, label, 'manifest.json');
    const first = Array.isArray(list) ? list[0] : undefined;
    if (!first || typeof first.Config !== 'string' || !Array.isArray(first.Layers)) throw new SlimError(`${label}: manifest.json lists no image`, { code: 'BAD_ARCHIVE' });
    if (list.length > 1) throw new SlimError(`${label} holds ${list.length} images; slim reads one at a time`, { code: 'BAD_ARCHIVE' });
    return { configName: first.Config, layerNames: first.Layers, namedIn: 'manifest.json' };
  }
  const indexRaw = opts.layout ? await readEntry('index.json') : undefined;
  if (!indexRaw) {
    const what = opts.layout ? 'neither a docker-archive (manifest.json) nor an OCI archive (index.json)' : 'not a docker-archive: it has no manifest.json';
    throw new SlimError(`${label} is ${what}`, { code: 'BAD_ARCHIVE' });
  }
  const blobName = (d: string) => `blobs/${String(d).replace(':', '/')}`;
  const m = await chooseManifest(parseIndex(indexRaw, label), opts.layout?.tag, label, async (desc, namedIn) => {
    const raw = await readEntry(blobName(desc.digest));
    if (!raw) throw missingPart(label, `blob ${desc.digest}`, namedIn);
    return raw;
  }, opts.layout?.platform);
  return { configName: blobName(m.config.digest), layerNames: m.layers.map((l) => blobName(l.digest)), namedIn: m.namedIn };
}

/** Every entry's place, and the archive's symlinks. tar-stream says where each entry's bytes start (header.byteOffset). */
async function scan(input: Readable, label: string, writeTo?: FileHandle): Promise<{ entries: Map<string, Located>; aliases: Map<string, string> }> {
  const entries = new Map<string, Located>();
  const aliases = new Map<string, string>();
  const extract = tar.extract();
  const feeding = writeTo ? pipeline(input, writeThrough(writeTo), extract) : pipeline(input, extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  try {
    for await (const item of extract) {
      const h = item.header;
      const name = h.name.replace(/^\.\//, '');
      if (h.type === 'symlink' && h.linkname) aliases.set(name, joinInside(parentOf('/' + name), h.linkname).slice(1));
      if (h.type === 'file') {
        const offset = (h as { byteOffset?: unknown }).byteOffset;
        if (typeof offset !== 'number') throw new InternalError('this tar-stream version does not say where an entry starts (header.byteOffset)');
        entries.set(name, { offset, size: h.size ?? 0 });
      }
      item.resume();
    }
    await feeding;
  } catch (err) {
    if (err instanceof SlimError || err instanceof InternalError) throw err;
    throw new SlimError(`cannot read ${label}: ${(err as Error).message}`, { code: 'BAD_ARCHIVE', cause: err });
  }
  return { entries, aliases };
}

/** Each chunk is in the file before the scan sees it: once the scan is done, the file is whole. */
function writeThrough(fh: FileHandle): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      (async () => {
        for (let done = 0; done < chunk.length; ) done += (await fh.write(chunk, done, chunk.length - done, position + done)).bytesWritten;
        position += chunk.length;
      })().then(() => cb(null, chunk), cb);
    },
  });
}

/** The archive as it was scanned: a file replaced or rewritten since would put other bytes at the places found. */
async function openScanned(file: string, scanned: Stats, label: string): Promise<FileHandle> {
  const fh = await open(file, 'r');
  const now = await fh.stat();
  if (now.ino !== scanned.ino || now.dev !== scanned.dev || now.size !== scanned.size || now.mtimeMs !== scanned.mtimeMs) {
    await fh.close();
    throw badArchive(label, 'the file changed while slim read it');
  }
  return fh;
}

async function readRange(file: string, scanned: Stats, at: Located, label: string): Promise<Buffer> {
  const fh = await openScanned(file, scanned, label);
  try {
    const buf = Buffer.alloc(at.size);
    for (let got = 0; got < at.size; ) {
      const { bytesRead } = await fh.read(buf, got, at.size - got, at.offset + got);
      if (bytesRead === 0) throw badArchive(label, 'the file is shorter than when slim read it');
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

async function openRange(file: string, scanned: Stats, at: Located, label: string, signal?: AbortSignal): Promise<Readable> {
  const fh = await openScanned(file, scanned, label);
  if (at.size === 0) {
    await fh.close();
    return Readable.from([]);
  }
  return fh.createReadStream({ start: at.offset, end: at.offset + at.size - 1, highWaterMark: CHUNK, ...(signal ? { signal } : {}) });
}

const claimedDigest = (name: string): Digest | undefined => {
  const hex = /^(?:blobs\/sha256\/([0-9a-f]{64})|([0-9a-f]{64})\.json)$/.exec(name);
  return hex ? `sha256:${hex[1] ?? hex[2]}` : undefined;
};

function namedDigestError(name: string, claimed: Digest, actual: Digest, label: string): UnsafeImageError | undefined {
  return claimed !== actual ? new UnsafeImageError(`${label}: ${name} is named for ${claimed} but its content is ${actual}`) : undefined;
}

/** A name that states a digest (`<hex>.json` for a docker-save config, `blobs/sha256/<hex>`) must be the digest of the bytes. */
function namedDigest(name: string, actual: Digest, label: string): void {
  const claimed = claimedDigest(name);
  const err = claimed && namedDigestError(name, claimed, actual, label);
  if (err) throw err;
}
