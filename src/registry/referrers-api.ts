import type { Digest } from '../image/types.js';
import { pullScope } from './challenge.js';
import { discard, header, readBody } from './http.js';
import type { RegistryTransport } from './transport.js';

/** The referrers API (OCI 1.1); undefined when the registry lacks it, so the caller falls back to the tag schema. */
export async function referrersApi(t: RegistryTransport, repo: string, digest: Digest): Promise<Buffer | undefined> {
  const res = await t.request({ method: 'GET', url: `v2/${repo}/referrers/${digest}`, headers: { accept: 'application/vnd.oci.image.index.v1+json' }, scopes: [pullScope(repo)], ok: [200, 404], what: 'listing referrers' });
  const type = header(res, 'content-type') ?? '';
  if (res.status !== 200 || !type.startsWith('application/vnd.oci.image.index.v1+json')) return void discard(res);
  return readBody(res);
}
