import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType } from '../image/types.js';
import { SlimError } from '../errors.js';
import { metadataJson } from '../sources/archive-meta.js';
import { describeSource } from '../sources/source-ref.js';
import type { FileOutputRef, ImageSink, SinkContext, Written } from './image-sink.js';

/** An OCI image layout directory, made or added to, the image under `org.opencontainers.image.ref.name` TAG. */
export class OciLayoutSink implements ImageSink {
  readonly kind = 'oci';
  readonly label: string;

  constructor(private readonly ref: Extract<FileOutputRef, { kind: 'oci' }>) {
    this.label = describeSource(ref);
  }

  entry(): string {
    return this.label;
  }

  async write(img: BuiltImage, { signal, log }: SinkContext): Promise<Written> {
    log.step(`writing ${this.label}`);
    signal.throwIfAborted();
    await writeOciLayout(this.ref.dir, img, this.ref.tag ?? 'latest', signal);
    return { entry: this.label };
  }
}

interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

/** Add the image to an OCI layout (made if absent, and removed again if writing it fails or is aborted). */
async function writeOciLayout(dir: string, img: BuiltImage, tag: string, signal: AbortSignal): Promise<void> {
  const exists = await stat(dir).then(() => true, () => false);
  try {
    await addToOciLayout(dir, exists, img, tag, signal);
  } catch (err) {
    if (!exists) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Replacing any manifest under the same ref name; index.json is written last, by rename. */
async function addToOciLayout(dir: string, exists: boolean, img: BuiltImage, tag: string, signal: AbortSignal): Promise<void> {
  let index: OciIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  if (exists) {
    const layout = await readFile(join(dir, 'oci-layout'), 'utf8').catch(() => undefined);
    if (!layout) throw new SlimError(`${dir} exists and is not an OCI image layout`, { code: 'OUTPUT_FAILED', hint: 'give a new directory, or an existing OCI layout to add the image to' });
    index = metadataJson<OciIndex>(await readFile(join(dir, 'index.json')).catch(() => undefined), `oci:${dir}`, 'index.json');
    if (!Array.isArray(index.manifests)) throw new SlimError(`oci:${dir}: index.json lists no manifests`, { code: 'BAD_ARCHIVE' });
  }
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (digest: string, write: (tmp: string) => Promise<void>) => {
    const final = join(blobs, digest.slice('sha256:'.length));
    signal.throwIfAborted();
    if (await stat(final).then(() => true, () => false)) return;
    const tmp = `${final}.slim-tmp-${process.pid}`;
    try {
      await write(tmp);
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  for (const layer of img.layers) await put(layer.digest, (tmp) => copyFile(layer.path, tmp));
  await put(img.configDigest, (tmp) => writeFile(tmp, img.configRaw));
  await put(img.manifestDigest, (tmp) => writeFile(tmp, img.manifestRaw));
  if (!exists) await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const refName = 'org.opencontainers.image.ref.name';
  index.manifests = index.manifests.filter((m) => m.annotations?.[refName] !== tag);
  index.manifests.push({ mediaType: MediaType.ociManifest, digest: img.manifestDigest, size: img.manifestRaw.length, annotations: { [refName]: tag } });
  signal.throwIfAborted();
  const tmpIndex = join(dir, `index.json.slim-tmp-${process.pid}`);
  await writeFile(tmpIndex, JSON.stringify(index));
  await rename(tmpIndex, join(dir, 'index.json'));
}

