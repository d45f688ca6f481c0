import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SlimError } from '../errors.js';
import { MediaType, type Digest } from '../image/types.js';
import { artifactLayers, referrersOf, referrersTag, safeFileName, type ArtifactLayer } from './artifact.js';
import type { RegistryClient } from './client.js';
import type { RegistryRef } from './registry-ref.js';

export interface Attachment {
  digest: Digest;
  artifactType: string | undefined;
  annotations: Record<string, string>;
  files: ArtifactLayer[];
}

export interface AttachmentList {
  subject: Digest;
  via: 'referrers-api' | 'tag-schema';
  attachments: Attachment[];
}

/** The artifacts that name REF's manifest as their subject: from the referrers API, else the tag schema. */
export async function listAttachments(client: RegistryClient, ref: RegistryRef): Promise<AttachmentList> {
  const repo = ref.repository;
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const subject = ref.digest ?? (await client.getManifest(repo, reference))?.digest;
  if (!subject) throw new SlimError(`${ref.host}/${repo}:${reference} is not in the registry`, { code: 'NOT_FOUND' });
  const fromApi = await client.referrersApi(repo, subject);
  const via = fromApi ? 'referrers-api' : 'tag-schema';
  const index = fromApi ?? (await client.getManifest(repo, referrersTag(subject), MediaType.ociIndex))?.raw;
  const attachments: Attachment[] = [];
  for (const d of index ? referrersOf(index) : []) {
    const m = await client.getManifest(repo, d.digest);
    if (!m) continue;
    const { artifactType, layers, annotations } = artifactLayers(m.raw);
    attachments.push({ digest: d.digest, artifactType, annotations, files: layers });
  }
  return { subject, via, attachments };
}

/** Fetch every file of these attachments into DIR, named by title; a title taken already gets its artifact's digest as a prefix. */
export async function fetchAttachments(client: RegistryClient, repo: string, list: Attachment[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const taken = new Set<string>();
  for (const a of list) {
    for (const f of a.files) {
      let name = safeFileName(f.title, f.digest);
      if (taken.has(name)) name = `${a.digest.slice(7, 19)}-${name}`;
      taken.add(name);
      const file = join(dir, name);
      await client.fetchBlob(repo, f.digest, file);
      written.push(file);
    }
  }
  return written;
}
