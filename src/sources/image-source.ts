import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest, ImageConfig } from '../image/types.js';

/**
 * An image as its parts, wherever it lives (the engine, a docker-archive, an OCI layout or
 * archive), in the manner of go-containerregistry's v1.Image: its config, and its layers that can
 * be opened as often as a reader needs. Reading the image (read-image.ts) and loading it into the
 * engine (load-source.ts) both go through this, so each input is walked once, by one module.
 */
export interface ImageSource {
  /** The input as the user named it: the start of every error about it. */
  readonly label: string;
  /**
   * A file input: what it claims (blob digests, rootfs.diff_ids) and slim's entry rules are
   * checked as it is read. The engine's own save is taken as it is.
   */
  readonly untrusted: boolean;
  config(): Promise<ConfigBlob>;
  /** Base first, as the manifest lists them. */
  layers(): Promise<LayerBlob[]>;
  /** Let go of what the source holds on disk (the engine's save, an unpacked archive) once no layer is opened again. */
  close?(): Promise<void>;
}

export interface ConfigBlob {
  raw: Buffer;
  /** The sha256 of `raw`: the image ID. */
  digest: Digest;
  config: ImageConfig;
}

/** One layer blob, as stored: a plain, gzip or zstd tar. */
export interface LayerBlob {
  /** Its name in the input (an archive entry, a layout digest), for messages. */
  readonly name: string;
  /** What the input says its bytes hash to, when it says (an OCI layout, a blobs/sha256/ entry). */
  readonly digest?: Digest;
  readonly size: number;
  /** A fresh stream of the blob each call; an untrusted source's stream fails at its end when the bytes are not what the input claims. */
  open(signal?: AbortSignal): Promise<Readable>;
}

/** What a check of a blob's bytes (their digest, how many) refuses, or undefined when they pass. */
export type BlobCheck = (digest: Digest, bytes: number) => Error | undefined;

/**
 * The bytes of `input` as they pass, checked at the end: a reader sees the failure as the
 * stream's error, after the last byte and before its end, so a check that fails is never a
 * complete read.
 */
export function checkedStream(input: Readable, check: BlobCheck): Readable {
  const hash = createHash('sha256');
  let bytes = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      cb(check(`sha256:${hash.digest('hex')}`, bytes) ?? null);
    },
  });
  // pipeline() carries a read error on to the reader, and closes the input when the reader stops early.
  pipeline(input, out).catch(() => {});
  return out;
}
