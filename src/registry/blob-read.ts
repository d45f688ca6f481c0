import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { SlimError } from '../errors.js';
import { HashingStream, sha256 } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { pullScope } from './challenge.js';
import { discard, readBody } from './http.js';
import { short } from './request.js';
import type { RegistryTransport } from './transport.js';

export async function blobExists(t: RegistryTransport, repo: string, digest: Digest): Promise<boolean> {
  const res = await t.request({ method: 'HEAD', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200, 404], what: `checking blob ${short(digest)}` });
  discard(res);
  return res.status === 200;
}

/** Stream a blob to a file, written under a temporary name and renamed only when its digest matches. */
export async function fetchBlob(t: RegistryTransport, repo: string, digest: Digest, file: string): Promise<void> {
  const res = await t.request({ method: 'GET', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200], follow: true, what: `getting blob ${short(digest)}` });
  const tmp = `${file}.slim-tmp-${process.pid}`;
  const hash = new HashingStream();
  try {
    await pipeline(res.body, hash, createWriteStream(tmp));
    if (hash.digest.digest !== digest) throw new SlimError(`blob from ${t.host}/${repo} has digest ${hash.digest.digest}, expected ${digest}`, { code: 'REGISTRY_DIGEST' });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function readBlob(t: RegistryTransport, repo: string, digest: Digest, limit: number): Promise<Buffer> {
  const res = await t.request({ method: 'GET', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200], follow: true, what: `getting blob ${short(digest)}` });
  const data = await readBody(res, limit);
  if (sha256(data) !== digest) throw new SlimError(`blob from ${t.host}/${repo} has digest ${sha256(data)}, expected ${digest}`, { code: 'REGISTRY_DIGEST' });
  return data;
}
