import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { SlimError } from '../errors.js';
import { joinInside, parentOf } from '../rootfs/safe-path.js';
import { compressionOf, isTar, peek, type Compression } from './peek.js';

const MAX_JSON = 16 * 1024 * 1024;

/** The blobs of an image archive, by their name in it. */
export interface ArchiveBlobs<L> {
  /** Small files (manifests, configs, index.json) whole. */
  small: Map<string, Buffer>;
  /** Layers, as `onLayer` made them. */
  layers: Map<string, L>;
  /** A name as the archive's manifests give it, through the archive's own symlinks (docker save links shared layers). */
  resolve(name: string): string;
}

/**
 * Read an image archive (`docker save` output, or an OCI layout in a tar) in one pass. Which blob
 * is a layer is only known from the manifest, which may come last: every blob that starts like a
 * tar (plain, gzip, zstd) goes to `onLayer` as it passes, the rest is kept if small.
 */
export async function readArchiveBlobs<L>(input: Readable, label: string, onLayer: (name: string, stream: Readable, size: number, compression: Compression) => Promise<L>): Promise<ArchiveBlobs<L>> {
  const small = new Map<string, Buffer>();
  const layers = new Map<string, L>();
  const aliases = new Map<string, string>();
  const extract = tar.extract();
  const feeding = pipeline(input, extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  try {
    for await (const item of extract) {
      const name = item.header.name.replace(/^\.\//, '');
      if (item.header.type === 'symlink' && item.header.linkname) {
        aliases.set(name, joinInside(parentOf('/' + name), item.header.linkname).slice(1));
        item.resume();
        continue;
      }
      if (item.header.type !== 'file') {
        item.resume();
        continue;
      }
      const { head, stream } = await peek(item as unknown as Readable, 512);
      const compression = compressionOf(head);
      if (isTar(head) || compression !== 'none') {
        layers.set(name, await onLayer(name, stream, item.header.size ?? 0, compression));
      } else if ((item.header.size ?? 0) <= MAX_JSON) {
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        small.set(name, Buffer.concat(chunks));
      } else {
        stream.resume();
      }
    }
    await feeding;
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw new SlimError(`cannot read ${label}: ${(err as Error).message}`, { code: 'BAD_ARCHIVE', cause: err });
  }
  return { small, layers, resolve: (n) => (small.has(n) || layers.has(n) ? n : aliases.get(n) ?? n) };
}
