import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType, type Digest } from '../image/types.js';
import { sha256 } from '../image/digest.js';
import { progressBar } from '../progress.js';
import { type BlobSource, type ManifestRef, type RegistryClient } from './client.js';
import { artifactManifest, EMPTY_CONFIG, referrersTag, type ArtifactFile } from './artifact.js';
import { addReferrer } from './referrers-tag.js';

export type BlobOutcome = 'uploaded' | 'exists' | 'mounted';

export interface PushedImage {
  manifest: ManifestRef;
  blobs: { digest: Digest; size: number; outcome: BlobOutcome }[];
}

function bufferBlob(data: Buffer, mediaType: string): BlobSource {
  return { digest: sha256(data), size: data.length, mediaType, open: (start, end) => Readable.from([data.subarray(start, end)]) };
}

/**
 * Put a blob in `repo` unless it is there: linked from another repository of the same registry
 * when one has it (no bytes move), uploaded otherwise.
 */
export async function ensureBlob(client: RegistryClient, repo: string, blob: BlobSource, mountFrom: string[], label?: string): Promise<BlobOutcome> {
  if (await client.blobExists(repo, blob.digest)) return 'exists';
  let session: URL | undefined;
  for (const from of mountFrom.filter((r) => r !== repo)) {
    if (!(await client.blobExists(from, blob.digest).catch(() => false))) continue;
    const r = await client.mountBlob(repo, blob.digest, from);
    if (r === 'mounted') return 'mounted';
    session = r;
    break;
  }
  const bar = label ? progressBar(label, blob.size) : undefined;
  try {
    await client.uploadBlob(repo, blob, bar, session);
  } finally {
    bar?.done();
  }
  return 'uploaded';
}

/** The image's blobs and its manifest by digest. Untagged: the tag goes on last, once all else is there. */
export async function pushImage(client: RegistryClient, repo: string, img: BuiltImage, mountFrom: string[] = []): Promise<PushedImage> {
  const layer: BlobSource = { digest: img.layer.digest, size: img.layer.size, mediaType: MediaType.ociLayerGzip, open: (start, end) => createReadStream(img.layer.path, { start, end: end - 1 }) };
  const config = bufferBlob(img.configRaw, MediaType.ociConfig);
  const blobs: PushedImage['blobs'] = [];
  for (const [blob, label] of [[layer, 'pushing layer'], [config, undefined]] as const) {
    blobs.push({ digest: blob.digest, size: blob.size, outcome: await ensureBlob(client, repo, blob, mountFrom, label) });
  }
  const { digest } = await client.putManifest(repo, img.manifestDigest, MediaType.ociManifest, img.manifestRaw);
  return { manifest: { mediaType: MediaType.ociManifest, digest, size: img.manifestRaw.length }, blobs };
}

export async function tagManifest(client: RegistryClient, repo: string, tag: string, manifest: { mediaType: string; raw: Buffer }): Promise<void> {
  await client.putManifest(repo, tag, manifest.mediaType, manifest.raw);
}

export interface Attached {
  digest: Digest;
  artifactType: string;
  /** How a reader finds it: the registry's referrers API, or the `sha256-…` tag that lists referrers. */
  via: 'referrers-api' | 'tag-schema';
}

/**
 * Attach files to a pushed image the ORAS way: an artifact whose subject is the image. A registry
 * that answers with OCI-Subject indexes it itself; for others the referrers tag is updated.
 */
export async function attachArtifact(client: RegistryClient, repo: string, subject: ManifestRef, artifactType: string, files: ArtifactFile[], annotations: Record<string, string>): Promise<Attached> {
  const artifact = artifactManifest(artifactType, files, subject, annotations);
  await ensureBlob(client, repo, bufferBlob(EMPTY_CONFIG.data, EMPTY_CONFIG.mediaType), []);
  for (const f of files) await ensureBlob(client, repo, bufferBlob(f.data, f.mediaType), []);
  const put = await client.putManifest(repo, artifact.digest, MediaType.ociManifest, artifact.raw);
  if (put.subject) return { digest: artifact.digest, artifactType, via: 'referrers-api' };
  const tag = referrersTag(subject.digest);
  await addReferrer(
    {
      get: async () => (await client.getManifest(repo, tag, MediaType.ociIndex))?.raw,
      put: async (raw) => void (await client.putManifest(repo, tag, MediaType.ociIndex, raw)),
    },
    artifact,
  );
  return { digest: artifact.digest, artifactType, via: 'tag-schema' };
}

