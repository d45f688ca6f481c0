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
  layer: WrittenLayer;
}

/** Config and manifest as bytes: fixed key order, so that equal inputs give equal digests. */
export function buildImage(plan: PackPlan, layer: WrittenLayer): BuiltImage {
  const config: ImageConfig = { ...plan.config, rootfs: { type: 'layers', diff_ids: [layer.diffId] } };
  const configRaw = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configRaw);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configRaw.length },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size } satisfies Descriptor],
    annotations: plan.annotations,
  };
  const manifestRaw = Buffer.from(JSON.stringify(manifest));
  return { config, configRaw, configDigest, manifestRaw, manifestDigest: sha256(manifestRaw), layer };
}
