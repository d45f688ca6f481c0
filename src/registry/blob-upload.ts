import type { Readable } from 'node:stream';
import { SlimError } from '../errors.js';
import type { Digest } from '../image/types.js';
import { counting, type Progress } from '../progress.js';
import { pullScope, pushScope } from './challenge.js';
import { discard, header, type HttpResponse } from './http.js';
import { isTransient, short } from './request.js';
import type { RegistryTransport } from './transport.js';

/** A blob to upload: its digest and size are known up front; `open` reads a byte range [start, end). */
export interface BlobSource {
  digest: Digest;
  size: number;
  mediaType: string;
  open(start: number, end: number): Readable;
}

/** Ask for the blob to be linked from another repository here; an upload session when the registry declines. */
export async function mountBlob(t: RegistryTransport, repo: string, digest: Digest, from: string): Promise<'mounted' | URL> {
  const url = t.url(`v2/${repo}/blobs/uploads/`);
  url.searchParams.set('mount', digest);
  url.searchParams.set('from', from);
  const res = await t.request({ method: 'POST', url, headers: { 'content-length': '0' }, scopes: [pushScope(repo), pullScope(from)], ok: [201, 202], what: `mounting ${short(digest)} from ${from}` });
  discard(res);
  return res.status === 201 ? 'mounted' : t.location(res);
}

/**
 * Upload a blob: one PUT when small, PATCH chunks with Content-Range when large. A session cut
 * midway starts over in a fresh one: registries (distribution 2.8 among them) refuse to resume a
 * session whose stored bytes and state disagree after a cut.
 */
export async function uploadBlob(t: RegistryTransport, repo: string, blob: BlobSource, progress?: Progress, session?: URL): Promise<void> {
  const { retries, retryDelayMs } = t.opts;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      t.opts.onRetry?.(`uploading ${short(blob.digest)}`, attempt, (lastError as Error).message);
      await t.backoff(retryDelayMs * 2 ** (attempt - 1));
    }
    try {
      const start = attempt === 0 && session ? session : await startUpload(t, repo);
      await uploadInSession(t, repo, blob, start, progress);
      return;
    } catch (err) {
      if (!isTransient(err)) throw err;
      lastError = err;
    }
  }
  throw new SlimError(`uploading blob ${short(blob.digest)} to ${t.host}/${repo} failed ${retries + 1} times: ${(lastError as Error).message}`, { code: 'REGISTRY_FAILED', hint: 'the registry or the network to it is failing; nothing was tagged' });
}

async function startUpload(t: RegistryTransport, repo: string): Promise<URL> {
  const res = await t.request({ method: 'POST', url: `v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' }, scopes: [pushScope(repo)], ok: [202], what: 'starting an upload' });
  discard(res);
  return t.location(res);
}

async function uploadInSession(t: RegistryTransport, repo: string, blob: BlobSource, session: URL, progress?: Progress): Promise<void> {
  const scopes = [pushScope(repo)];
  const body = (start: number, end: number) => () => {
    const s = blob.open(start, end);
    return progress ? s.pipe(counting(progress, { finish: false })) : s;
  };
  let location = session;
  let res: HttpResponse;
  if (blob.size <= t.opts.monolithicMax) {
    const url = new URL(location);
    url.searchParams.set('digest', blob.digest);
    res = await t.request({ method: 'PUT', url, headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }, body: body(0, blob.size), scopes, ok: [201], retry: false, what: `uploading ${short(blob.digest)}` });
  } else {
    let offset = 0;
    while (offset < blob.size) {
      const end = Math.min(blob.size, offset + t.opts.chunkSize);
      const patch = await t.request({
        method: 'PATCH', url: location, scopes, ok: [202], retry: false, what: `uploading ${short(blob.digest)} bytes ${offset}-${end - 1}`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset), 'content-range': `${offset}-${end - 1}` },
        body: body(offset, end),
      });
      discard(patch);
      location = t.location(patch);
      offset = rangeEnd(patch) ?? end;
    }
    const url = new URL(location);
    url.searchParams.set('digest', blob.digest);
    res = await t.request({ method: 'PUT', url, headers: { 'content-length': '0' }, scopes, ok: [201], retry: false, what: `completing ${short(blob.digest)}` });
  }
  discard(res);
  const stored = header(res, 'docker-content-digest');
  if (stored && stored !== blob.digest) throw new SlimError(`${t.host} stored blob ${short(blob.digest)} as ${stored}`, { code: 'REGISTRY_DIGEST' });
}

/** `Range: 0-1023` → the next offset, 1024. */
function rangeEnd(res: HttpResponse): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
  return m ? Number(m[1]) + 1 : undefined;
}
