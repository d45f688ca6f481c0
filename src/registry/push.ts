import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType, type Digest } from '../image/types.js';
import { sha256 } from '../image/digest.js';
import { progressBar } from '../progress.js';
import type { BlobSource } from './blob-upload.js';
import type { RegistryClient } from './client.js';
import type { ManifestRef } from './manifests.js';
import { artifactManifest, EMPTY_CONFIG, referrersOf, referrersTag, withoutReferrers, type ArtifactFile } from './artifact.js';
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
  const layers = img.layers.map((l): [BlobSource, string] => [{ digest: l.digest, size: l.size, mediaType: l.mediaType, open: (start, end) => createReadStream(l.path, { start, end: end - 1 }) }, 'pushing layer']);
  const config = bufferBlob(img.configRaw, MediaType.ociConfig);
  const blobs: PushedImage['blobs'] = [];
  for (const [blob, label] of [...layers, [config, undefined]] as const) {
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

/** One registry output as pushed: the manifest by digest, its blobs, the evidence attached to it. */
export interface Pushed {
  ref: string;
  digest: string;
  blobs: { uploaded: number; mounted: number; existed: number };
  attachments: Attached[];
}

/**
 * Attach files to a pushed image the ORAS way: an artifact whose subject is the image. A registry
 * that answers with OCI-Subject indexes it itself; for others the referrers tag is updated.
 */
export async function attachArtifact(client: RegistryClient, repo: string, subject: ManifestRef, artifactType: string, files: ArtifactFile[], annotations: Record<string, string>, onDigest?: (d: Digest) => void): Promise<Attached> {
  const artifact = artifactManifest(artifactType, files, subject, annotations);
  // Told before anything is written: a push that fails later takes back what was written for it.
  onDigest?.(artifact.digest);
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


/**
 * Take attachments back when the image they describe was not published (its tag PUT failed):
 * their entries leave the referrers tag's index (the tag itself goes when nothing else is listed
 * there), and their manifests are deleted. Returns what could not be undone, for a warning.
 */
export async function detachArtifacts(client: RegistryClient, repo: string, subject: Digest, digests: readonly Digest[]): Promise<string[]> {
  const left: string[] = [];
  if (digests.length === 0) return left;
  const tag = referrersTag(subject);
  const index = await client.getManifest(repo, tag, MediaType.ociIndex);
  if (index && referrersOf(index.raw).some((m) => digests.includes(m.digest))) {
    const rest = withoutReferrers(index.raw, digests);
    if (referrersOf(rest).length > 0) await client.putManifest(repo, tag, MediaType.ociIndex, rest);
    else if (!(await client.deleteManifest(repo, index.digest))) {
      // A registry without deletes keeps the tag: an empty index at least lists nothing.
      await client.putManifest(repo, tag, MediaType.ociIndex, rest);
      left.push(`the empty referrers tag ${tag} (the registry does not allow deletes)`);
    }
  }
  for (const d of digests) if (!(await client.deleteManifest(repo, d))) left.push(`artifact manifest ${d} (untagged; the registry does not allow deletes)`);
  return left;
}
