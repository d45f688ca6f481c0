import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Digest } from '../image/types.js';
import { SlimError } from '../errors.js';
import { dockerArchiveSource } from '../sources/archive-source.js';
import { ContentSpool } from '../sources/content-spool.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import type { ImageInspect } from '../runtime/runtime.js';

/** An image the store holds: its docker-archive as loaded, and that archive read (flattened, its bytes in a spool). */
export interface StoredImage {
  id: Digest;
  archive: string;
  read: ReadImage;
  spool: ContentSpool;
  size: number;
}

/**
 * The images of a daemonless run, in a directory of the run: what `docker load` and `docker save`
 * do, with slim's own archive reader and its checks (an untrusted archive, as a file input is).
 * Nothing outlives the run: the directory goes with it.
 */
export class ImageStore {
  private readonly images = new Map<Digest, StoredImage>();
  private readonly tags = new Map<string, Digest>();
  private loads = 0;

  constructor(private readonly dir: string) {}

  async load(archive: Readable, signal: AbortSignal): Promise<Digest> {
    const n = ++this.loads;
    const dir = join(this.dir, `image-${n}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'archive.tar');
    try {
      const fh = await open(file, 'w');
      const repoTags = manifestTags();
      // The archive may be a streamx stream, which feeds one reader: a node stream feeds both.
      const both = new PassThrough();
      const bytes = new PassThrough();
      pipeline(archive, both).catch((err: unknown) => bytes.destroy(err as Error));
      both.pipe(repoTags.input);
      both.pipe(bytes);
      let source;
      try {
        source = await dockerArchiveSource(file, 'the image to load', { untrusted: true }, { bytes, to: fh });
      } finally {
        await fh.close();
      }
      const spool = await ContentSpool.create(dir);
      const read = await readImage(source, spool, { signal });
      const size = read.index.stats().bytes;
      const tags = await repoTags.tags;
      const known = this.images.get(read.configDigest);
      if (known) {
        await spool.close();
        await rm(dir, { recursive: true, force: true });
      } else {
        this.images.set(read.configDigest, { id: read.configDigest, archive: file, read, spool, size });
      }
      for (const t of tags) this.tags.set(normalTag(t), read.configDigest);
      return read.configDigest;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get(ref: string): StoredImage | undefined {
    const id = this.tags.get(normalTag(ref)) ?? (ref.startsWith('sha256:') ? ref : undefined) ?? [...this.images.keys()].find((d) => /^[0-9a-f]{12,64}$/.test(ref) && d.slice(7).startsWith(ref));
    return id ? this.images.get(id as Digest) : undefined;
  }

  /** The image as `docker image inspect` describes it. */
  inspect(ref: string): ImageInspect | undefined {
    const img = this.get(ref);
    if (!img) return undefined;
    const c = img.read.config;
    return {
      id: img.id,
      repoTags: [...this.tags].filter(([, id]) => id === img.id).map(([t]) => t),
      size: img.size,
      os: c.os,
      architecture: c.architecture,
      config: c.config ?? {},
    };
  }

  mustGet(ref: string): StoredImage {
    const img = this.get(ref);
    if (!img) throw new SlimError(`no such image in this run's store: ${ref}`, { code: 'IMAGE_NOT_FOUND' });
    return img;
  }

  save(ref: string): Readable {
    return createReadStream(this.mustGet(ref).archive);
  }

  tag(id: string, ref: string): void {
    this.tags.set(normalTag(ref), this.mustGet(id).id);
  }

  /** Remove a tag; the image goes with its last one. */
  async untag(ref: string): Promise<void> {
    const id = this.tags.get(normalTag(ref));
    if (!id) return;
    this.tags.delete(normalTag(ref));
    if (![...this.tags.values()].includes(id)) await this.drop(id);
  }

  /** Remove an image, named by a tag or its ID, with all its tags. */
  async remove(ref: string): Promise<void> {
    const img = this.get(ref);
    if (img) await this.drop(img.id);
  }

  private async drop(id: Digest): Promise<void> {
    const img = this.images.get(id);
    for (const [t, tid] of this.tags) if (tid === id) this.tags.delete(t);
    if (!img) return;
    this.images.delete(id);
    await img.spool.close();
    await rm(join(img.archive, '..'), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    for (const img of this.images.values()) await img.spool.close().catch(() => {});
    this.images.clear();
  }
}

/** `name` is `name:latest`, as the engine reads a reference. */
function normalTag(ref: string): string {
  if (ref.startsWith('sha256:')) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.slice(slash + 1).includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

/** The RepoTags of a docker-archive's manifest.json, read as the archive streams by. */
function manifestTags(): { input: NodeJS.WritableStream; tags: Promise<string[]> } {
  const extract = tar.extract();
  let tags: string[] = [];
  extract.on('entry', (header, stream, next) => {
    if (header.name !== 'manifest.json' || (header.size ?? 0) > 1 << 20) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
    stream.on('end', () => {
      try {
        const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { RepoTags?: string[] | null }[];
        tags = m.flatMap((e) => e.RepoTags ?? []);
      } catch {
        /* the archive reader reports a bad manifest */
      }
      next();
    });
  });
  const input = new PassThrough();
  const finished = pipeline(input, extract).then(() => tags, () => tags);
  return { input, tags: finished };
}
