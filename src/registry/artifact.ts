import { SlimError } from '../errors.js';
import { sha256 } from '../image/digest.js';
import type { Descriptor, Digest } from '../image/types.js';
import { MediaType } from '../image/types.js';
import type { ManifestRef } from './manifests.js';
import { registryJson } from './request.js';

/** What slim attaches to the images it pushes, and how scanners find the SBOM among them. */
export const ArtifactType = {
  evidence: 'application/vnd.slim.evidence.v1',
  sbom: 'application/vnd.cyclonedx+json',
} as const;

export const FileType = {
  report: 'application/vnd.slim.report.v1+json',
  trace: 'application/vnd.slim.trace.v1+jsonl',
  seccomp: 'application/vnd.slim.seccomp-profile.v1+json',
  sbom: 'application/vnd.cyclonedx+json',
} as const;

export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', data: Buffer.from('{}') } as const;
export const TITLE = 'org.opencontainers.image.title';

export interface ArtifactFile {
  title: string;
  mediaType: string;
  data: Buffer;
}

export interface ArtifactManifest {
  raw: Buffer;
  digest: Digest;
  artifactType: string;
  annotations: Record<string, string>;
}

interface ReferrerDescriptor extends Descriptor {
  artifactType?: string;
}

interface OciIndexDoc {
  schemaVersion: 2;
  mediaType: string;
  manifests: ReferrerDescriptor[];
}

/**
 * An OCI 1.1 artifact manifest, as ORAS writes them: an empty config, one layer per file named by
 * its title annotation, and `subject` pointing at the image it describes.
 */
export function artifactManifest(artifactType: string, files: ArtifactFile[], subject: ManifestRef, annotations: Record<string, string>): ArtifactManifest {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: sha256(EMPTY_CONFIG.data), size: EMPTY_CONFIG.data.length },
    layers: files.map((f) => ({ mediaType: f.mediaType, digest: sha256(f.data), size: f.data.length, annotations: { [TITLE]: f.title } })),
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  return { raw, digest: sha256(raw), artifactType, annotations };
}

/** The tag under which registries without the referrers API list an image's referrers. */
export function referrersTag(subject: Digest): string {
  return subject.replace(':', '-').slice(0, 128);
}

/** The referrers index with this artifact in it (once), from whatever the tag held before. */
export function withReferrer(existing: Buffer | undefined, a: ArtifactManifest): Buffer {
  const index: OciIndexDoc = existing ? parseIndex(existing) : { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  index.manifests = index.manifests.filter((m) => m.digest !== a.digest);
  index.manifests.push({ mediaType: MediaType.ociManifest, digest: a.digest, size: a.raw.length, artifactType: a.artifactType, annotations: a.annotations });
  return Buffer.from(JSON.stringify(index));
}

/** The index without these artifacts (a push that failed takes its attachments back). */
export function withoutReferrers(existing: Buffer, digests: readonly string[]): Buffer {
  const index = parseIndex(existing);
  index.manifests = index.manifests.filter((m) => !digests.includes(m.digest));
  return Buffer.from(JSON.stringify(index));
}

export function referrersOf(indexRaw: Buffer): ReferrerDescriptor[] {
  return parseIndex(indexRaw).manifests;
}

function parseIndex(raw: Buffer): OciIndexDoc {
  const j = registryJson<Partial<OciIndexDoc>>(raw, 'the referrers index');
  if (!Array.isArray(j?.manifests)) throw new SlimError('the referrers index has no manifests list', { code: 'REGISTRY_FAILED' });
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: j.manifests };
}

export interface ArtifactLayer {
  title: string | undefined;
  mediaType: string;
  digest: Digest;
  size: number;
}

/** The files an artifact manifest holds. */
export function artifactLayers(raw: Buffer): { artifactType: string | undefined; layers: ArtifactLayer[]; annotations: Record<string, string> } {
  const j = registryJson<{ artifactType?: string; config?: { mediaType?: string }; layers?: Descriptor[]; annotations?: Record<string, string> }>(raw, 'the artifact manifest') ?? {};
  return {
    artifactType: j.artifactType ?? j.config?.mediaType,
    layers: (j.layers ?? []).map((l) => ({ title: l.annotations?.[TITLE], mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: j.annotations ?? {},
  };
}

/** A file name to write a fetched layer to: the title's last part, never a path out of the directory. */
export function safeFileName(title: string | undefined, digest: Digest): string {
  const base = (title ?? '').split(/[\\/]/).pop() ?? '';
  return base && base !== '.' && base !== '..' && !base.includes('\0') ? base : digest.replace(':', '-');
}
