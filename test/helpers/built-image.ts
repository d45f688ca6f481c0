import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildImage, type BuiltImage } from '../../src/pack/image-builder.js';
import { sha256 } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/types.js';
import { mkLayer } from './layers.js';

/** A one-layer image made in the test: a file of `randomSize` incompressible bytes (so the gzip'd blob is that big), written to DIR. */
export async function mkBuiltImage(dir: string, opts: { randomSize: number; name?: string }): Promise<BuiltImage> {
  const gz = await mkLayer([{ path: 'data' }, { path: `data/${opts.name ?? 'blob'}`, body: randomBytes(opts.randomSize) }], { gzip: true });
  const path = join(dir, `${sha256(gz).slice(7, 19)}.tar.gz`);
  await writeFile(path, gz);
  const layer = { path, mediaType: MediaType.ociLayerGzip, digest: sha256(gz), diffId: sha256(gunzipSync(gz)), size: gz.length, uncompressedSize: gunzipSync(gz).length };
  return buildImage({ entries: [], config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/data/blob'] } }, annotations: { 'org.opencontainers.image.title': 'slim test' } }, layer);
}
