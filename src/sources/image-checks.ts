import type { Digest, ImageConfig } from '../image/types.js';
import { applyLayer, type TarEntry } from '../rootfs/flatten.js';
import { FileIndex } from '../rootfs/file-index.js';
import { UnsafeImageError } from '../errors.js';

/** A layer as read from an untrusted source, for the checks of the whole image. */
export interface ReadLayer {
  name: string;
  diffId?: Digest;
  entries: TarEntry[];
}

/** Each layer's uncompressed digest must be the config's rootfs.diff_ids entry at its place. */
export function checkDiffIds(config: ImageConfig, layers: ReadLayer[], label: string): void {
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new UnsafeImageError(`${label}: the config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} layers (rootfs.diff_ids), the manifest ${layers.length}`);
  }
  layers.forEach((l, i) => {
    if (l.diffId !== diffIds[i]) throw new UnsafeImageError(`${label}: layer ${l.name} does not match its digest: uncompressed it is ${l.diffId}, the config's rootfs.diff_ids[${i}] says ${diffIds[i]}`);
  });
}

/**
 * The layers flattened, base first, under slim's own rules for entries (no `..`, hard links
 * inside the image, parents through the image's own symlinks); a refusal names the input and the layer.
 */
export function flattenChecked(layers: ReadLayer[], label: string): FileIndex {
  const index = new FileIndex();
  layers.forEach((l, i) => {
    try {
      applyLayer(index, i, l.entries);
    } catch (err) {
      if (err instanceof UnsafeImageError) throw new UnsafeImageError(`${label}: layer ${l.name}: ${err.message}`);
      throw err;
    }
  });
  return index;
}
