import type { Descriptor, Digest, ImageConfig, Manifest } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { sha256 } from '../image/digest.js';
import type { PackPlan } from './plan.js';
import type { WrittenLayer } from './layer-writer.js';

export interface BuiltImage {
  config: ImageConfig;
  configRaw: Buffer;
  configDigest: Digest;
  manifestRaw: Buffer;
  manifestDigest: Digest;
  /** The image's own layer: the only one of a build, the top one of a fleet's layered image. */
  layer: WrittenLayer;
  /** Every layer, base first. */
  layers: WrittenLayer[];
}

/** Config and manifest as bytes: fixed key order, so that equal inputs give equal digests. */
export function buildImage(plan: PackPlan, layer: WrittenLayer): BuiltImage {
  return layeredImage(plan.config, plan.annotations, [layer]);
}

/** An image of several layers, base first: the config's diff IDs and the manifest's layers in that order. */
export function layeredImage(base: Omit<ImageConfig, 'rootfs'>, annotations: Record<string, string>, layers: WrittenLayer[]): BuiltImage {
  const config: ImageConfig = { ...base, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
  const configRaw = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configRaw);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configRaw.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }) satisfies Descriptor),
    annotations,
  };
  const manifestRaw = Buffer.from(JSON.stringify(manifest));
  return { config, configRaw, configDigest, manifestRaw, manifestDigest: sha256(manifestRaw), layer: layers.at(-1)!, layers };
}
