import { SlimError } from '../errors.js';
import { sha256 } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { pullScope, pushScope } from './challenge.js';
import { discard, header, readBody } from './http.js';
import { registryJson, short } from './request.js';
import type { RegistryTransport } from './transport.js';

export interface ManifestRef {
  mediaType: string;
  digest: Digest;
  size: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** PUT a manifest; the registry must store it under the digest of exactly these bytes. */
export async function putManifest(t: RegistryTransport, repo: string, reference: string, mediaType: string, raw: Buffer): Promise<{ digest: Digest; subject?: string }> {
  const digest = sha256(raw);
  const res = await t.request({ method: 'PUT', url: `v2/${repo}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: raw, scopes: [pushScope(repo)], ok: [201], what: `putting manifest ${reference}` });
  discard(res);
  const stored = header(res, 'docker-content-digest');
  if (stored && stored !== digest) throw new SlimError(`${t.host} stored manifest ${reference} as ${stored}, not ${digest}`, { code: 'REGISTRY_DIGEST' });
  const subject = header(res, 'oci-subject');
  return { digest, ...(subject ? { subject } : {}) };
}

/**
 * Delete a manifest by digest (and so every tag on it). False when the registry does not allow
 * deletes (405, or distribution with storage delete off); a manifest already gone is fine.
 */
export async function deleteManifest(t: RegistryTransport, repo: string, digest: Digest): Promise<boolean> {
  const res = await t.request({ method: 'DELETE', url: `v2/${repo}/manifests/${digest}`, scopes: [pushScope(repo)], ok: [200, 202, 404, 405], what: `deleting manifest ${short(digest)}` });
  discard(res);
  return res.status !== 405;
}

/** The manifest's bytes, checked against the digest asked for (or the one the registry names). */
export async function getManifest(t: RegistryTransport, repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<{ raw: Buffer; mediaType: string; digest: Digest } | undefined> {
  const res = await t.request({ method: 'GET', url: `v2/${repo}/manifests/${reference}`, headers: { accept }, scopes: [pullScope(repo)], ok: [200, 404], what: `getting manifest ${reference}` });
  if (res.status === 404) return void discard(res);
  const raw = await readBody(res);
  const digest = sha256(raw);
  const expected = reference.startsWith('sha256:') ? reference : header(res, 'docker-content-digest');
  if (expected && expected !== digest) throw new SlimError(`manifest ${reference} from ${t.host}/${repo} has digest ${digest}, expected ${expected}`, { code: 'REGISTRY_DIGEST' });
  const mediaType = registryJson<{ mediaType?: string }>(raw, `manifest ${reference} from ${t.host}/${repo}`).mediaType ?? header(res, 'content-type') ?? '';
  return { raw, mediaType, digest };
}
