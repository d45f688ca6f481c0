import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../pipeline/scope.js';
import type { SourceRef } from './source-ref.js';
import { SlimError, UnsafeImageError } from '../errors.js';
import { isDigest } from '../image/types.js';

/**
 * Bring an image that lives in a file or OCI layout into the engine, where it is probed and
 * verified; the engine then serves it like any other image. Returns the engine image ID. An image
 * the engine did not have before is removed when the run ends.
 */
export async function loadSource(src: Exclude<SourceRef, { kind: 'engine' }>, runtime: Runtime, scope: Scope): Promise<string> {
  let configDigest: string;
  let archive: () => Readable;
  if (src.kind === 'docker-archive') {
    await mustExist(src.file);
    configDigest = await dockerArchiveConfigDigest(src.file);
    archive = () => withoutNames(src.file);
  } else {
    const dir = src.kind === 'oci' ? src.dir : await unpackOciArchive(src.file, await scope.tempDir('slim-oci-'));
    if (src.kind === 'oci') await mustExist(dir);
    const m = await ociManifest(dir, src.tag, src.kind === 'oci' ? `oci:${dir}` : `oci-archive:${src.file}`);
    configDigest = m.config;
    archive = () => dockerArchiveFromLayout(dir, m);
  }
  const existed = (await runtime.inspectImage(configDigest)) !== undefined;
  const id = await runtime.loadImage(archive(), scope.signal);
  if (!existed) scope.defer('loaded input image', () => runtime.removeImage(id));
  return id;
}

async function mustExist(p: string): Promise<void> {
  if (!(await stat(p).then(() => true, () => false))) throw new SlimError(`${p} does not exist`, { code: 'SOURCE_NOT_FOUND' });
}

/** The config named in manifest.json; both docker-save formats name it by its sha256. */
async function dockerArchiveConfigDigest(file: string): Promise<string> {
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  let manifest: Buffer | undefined;
  for await (const item of extract) {
    if (item.header.name.replace(/^\.\//, '') === 'manifest.json') {
      const chunks: Buffer[] = [];
      for await (const c of item as AsyncIterable<Buffer>) chunks.push(c);
      manifest = Buffer.concat(chunks);
    } else item.resume();
  }
  await feeding;
  if (!manifest) throw new SlimError(`${file} is not a docker-archive: it has no manifest.json`, { code: 'BAD_ARCHIVE' });
  const config = (JSON.parse(manifest.toString('utf8')) as { Config?: string }[])[0]?.Config ?? '';
  const hex = /([0-9a-f]{64})(\.json)?$/.exec(config)?.[1];
  if (!hex) throw new SlimError(`${file}: manifest.json names no config`, { code: 'BAD_ARCHIVE' });
  return `sha256:${hex}`;
}

/**
 * The archive as `docker load` should see it here: without its names (manifest.json RepoTags,
 * `repositories`), so loading an input never moves a tag in the user's engine. Streamed entry by entry.
 */
function withoutNames(file: string): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  (async () => {
    const feeding = pipeline(createReadStream(file), extract);
    // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
    feeding.catch(() => {});
    for await (const item of extract) {
      const n = item.header.name.replace(/^\.\//, '');
      if (n === 'repositories') {
        item.resume();
        continue;
      }
      if (n === 'manifest.json') {
        const chunks: Buffer[] = [];
        for await (const c of item as AsyncIterable<Buffer>) chunks.push(c);
        const list = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[]).map((m) => ({ ...m, RepoTags: null }));
        const body = Buffer.from(JSON.stringify(list));
        await new Promise<void>((res, rej) => pack.entry({ ...item.header, size: body.length }, body, (e) => (e ? rej(e) : res())));
        continue;
      }
      if (item.header.type === 'file') await pipeline(item as unknown as Readable, pack.entry(item.header));
      else {
        item.resume();
        await new Promise<void>((res, rej) => pack.entry({ ...item.header, size: 0 }, Buffer.alloc(0), (e) => (e ? rej(e) : res())));
      }
    }
    await feeding;
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

interface LayoutImage {
  config: string;
  layers: string[];
}

const blobPath = (dir: string, digest: string) => {
  if (!isDigest(digest)) throw new UnsafeImageError(`bad digest "${digest}" in an OCI layout`);
  return join(dir, 'blobs', 'sha256', digest.slice(7));
};

/** The manifest under `tag` (org.opencontainers.image.ref.name), or the only one; indexes are followed to linux/amd64. */
async function ociManifest(dir: string, tag: string | undefined, label: string): Promise<LayoutImage> {
  type Desc = { digest: string; mediaType?: string; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } };
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8').catch(() => {
    throw new SlimError(`${label} is not an OCI image layout (no index.json)`, { code: 'BAD_ARCHIVE' });
  })) as { manifests?: Desc[] };
  const all = index.manifests ?? [];
  const chosen = tag ? all.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) : all;
  if (chosen.length !== 1) {
    const names = all.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
    throw new SlimError(tag ? `${label} has no image tagged ${tag}` : `${label} holds ${all.length} images: name one with :TAG`, { code: 'BAD_ARCHIVE', hint: names.length ? `tags: ${names.join(', ')}` : 'the layout names no tags' });
  }
  let desc = chosen[0]!;
  for (let depth = 0; depth < 4; depth++) {
    const doc = JSON.parse(await readFile(blobPath(dir, desc.digest), 'utf8')) as { manifests?: Desc[]; config?: Desc; layers?: Desc[] };
    if (doc.manifests) {
      const next = doc.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? doc.manifests[0];
      if (!next) break;
      desc = next;
      continue;
    }
    if (doc.config && doc.layers) return { config: doc.config.digest, layers: doc.layers.map((l) => l.digest) };
    break;
  }
  throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
}

/** A docker-archive (what `docker load` reads) made of the layout's own blobs, streamed. */
function dockerArchiveFromLayout(dir: string, img: LayoutImage): Readable {
  const pack = tar.pack();
  const name = (d: string) => `blobs/sha256/${d.slice(7)}`;
  (async () => {
    for (const d of [img.config, ...new Set(img.layers)]) {
      const size = (await stat(blobPath(dir, d))).size;
      await pipeline(createReadStream(blobPath(dir, d)), pack.entry({ name: name(d), size, mode: 0o644, mtime: new Date(0) }));
    }
    const manifest = Buffer.from(JSON.stringify([{ Config: name(img.config), RepoTags: null, Layers: img.layers.map(name) }]));
    pack.entry({ name: 'manifest.json', size: manifest.length, mode: 0o644, mtime: new Date(0) }, manifest);
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

/** Unpack an OCI archive; only the layout's own names are accepted, so no entry can land elsewhere. */
async function unpackOciArchive(file: string, into: string): Promise<string> {
  await mustExist(file);
  await mkdir(join(into, 'blobs', 'sha256'), { recursive: true });
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(file), extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  for await (const item of extract) {
    const n = item.header.name.replace(/^\.\//, '');
    // Directories, and the docker-archive index some tools add beside the layout, are not needed.
    if ((item.header.type === 'directory' && /^(blobs\/?|blobs\/sha256\/?)$/.test(n)) || /^(manifest\.json|repositories)$/.test(n)) {
      item.resume();
      continue;
    }
    if (item.header.type !== 'file' || !/^(oci-layout|index\.json|blobs\/sha256\/[0-9a-f]{64})$/.test(n)) {
      throw new UnsafeImageError(`${file}: unexpected entry "${n}" in an OCI archive`);
    }
    await pipeline(item as unknown as Readable, createWriteStream(join(into, n)));
  }
  await feeding;
  return into;
}
