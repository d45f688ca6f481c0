import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlimError } from '../errors.js';
import { HashingStream, sha256 } from '../image/digest.js';
import type { Digest } from '../image/types.js';
import { counting, type Progress } from '../progress.js';
import { parseChallenge, pullScope, pushScope, tokenUrl, type Challenge } from './challenge.js';
import { findCredentials, type Credentials } from './credentials.js';
import { discard, header, NetworkError, readBody, send, type HttpRequest, type HttpResponse } from './http.js';
import { apiHost, isLoopbackHost } from './registry-ref.js';

/** A blob to upload: its digest and size are known up front; `open` reads a byte range [start, end). */
export interface BlobSource {
  digest: Digest;
  size: number;
  mediaType: string;
  open(start: number, end: number): Readable;
}

export interface ClientOptions {
  /** Plain HTTP (loopback hosts always are). */
  insecure?: boolean;
  /** Tries after the first, for transient failures (network errors, 408, 429, 5xx). */
  retries?: number;
  retryDelayMs?: number;
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks of `chunkSize`. */
  monolithicMax?: number;
  chunkSize?: number;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Told about each retry, so that CI logs show a flaky registry. */
  onRetry?: (what: string, attempt: number, reason: string) => void;
}

export interface ManifestRef {
  mediaType: string;
  digest: Digest;
  size: number;
}

const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);
const MiB = 1024 * 1024;

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

type RegistryRequest = Omit<HttpRequest, 'url' | 'signal'> & {
  url: string | URL;
  scopes: string[];
  /** Statuses that are answers, not failures. */
  ok: number[];
  /** False for requests whose resend would not be the same request (an upload session's body). */
  retry?: boolean;
  /** Sent without credentials: the first contact, which learns how the registry wants them. */
  anonymous?: boolean;
  what: string;
};

/**
 * A client for the OCI distribution API on one registry host: token and basic auth answered from
 * the registry's own challenge, transient failures retried with backoff, every digest checked.
 */
export class RegistryClient {
  readonly host: string;
  private readonly base: URL;
  private readonly opts: Required<Omit<ClientOptions, 'signal' | 'onRetry' | 'insecure' | 'env'>> & ClientOptions;
  /** undefined: not asked yet; null: the registry lets us in without auth. */
  private challenge: Challenge | null | undefined;
  private credentials: Credentials | null | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(host: string, opts: ClientOptions = {}) {
    this.host = host;
    const plain = opts.insecure || isLoopbackHost(host);
    this.base = new URL(`${plain ? 'http' : 'https'}://${apiHost(host)}/`);
    this.opts = { retries: 3, retryDelayMs: 500, monolithicMax: 64 * MiB, chunkSize: 32 * MiB, idleTimeoutMs: 60_000, ...opts };
  }

  async blobExists(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.request({ method: 'HEAD', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200, 404], what: `checking blob ${short(digest)}` });
    discard(res);
    return res.status === 200;
  }

  /** Ask for the blob to be linked from another repository here; an upload session when the registry declines. */
  async mountBlob(repo: string, digest: Digest, from: string): Promise<'mounted' | URL> {
    const url = this.url(`v2/${repo}/blobs/uploads/`);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', from);
    const res = await this.request({ method: 'POST', url, headers: { 'content-length': '0' }, scopes: [pushScope(repo), pullScope(from)], ok: [201, 202], what: `mounting ${short(digest)} from ${from}` });
    discard(res);
    return res.status === 201 ? 'mounted' : this.location(res);
  }

  /**
   * Upload a blob: one PUT when small, PATCH chunks with Content-Range when large. A session cut
   * midway starts over in a fresh one: registries (distribution 2.8 among them) refuse to resume a
   * session whose stored bytes and state disagree after a cut.
   */
  async uploadBlob(repo: string, blob: BlobSource, progress?: Progress, session?: URL): Promise<void> {
    const { retries, retryDelayMs } = this.opts;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        this.opts.onRetry?.(`uploading ${short(blob.digest)}`, attempt, (lastError as Error).message);
        await this.backoff(retryDelayMs * 2 ** (attempt - 1));
      }
      try {
        const start = attempt === 0 && session ? session : await this.startUpload(repo);
        await this.uploadInSession(repo, blob, start, progress);
        return;
      } catch (err) {
        if (!isTransient(err)) throw err;
        lastError = err;
      }
    }
    throw new SlimError(`uploading blob ${short(blob.digest)} to ${this.host}/${repo} failed ${retries + 1} times: ${(lastError as Error).message}`, { code: 'REGISTRY_FAILED', hint: 'the registry or the network to it is failing; nothing was tagged' });
  }

  private async startUpload(repo: string): Promise<URL> {
    const res = await this.request({ method: 'POST', url: `v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' }, scopes: [pushScope(repo)], ok: [202], what: 'starting an upload' });
    discard(res);
    return this.location(res);
  }

  private async uploadInSession(repo: string, blob: BlobSource, session: URL, progress?: Progress): Promise<void> {
    const scopes = [pushScope(repo)];
    const body = (start: number, end: number) => () => {
      const s = blob.open(start, end);
      return progress ? s.pipe(counting(progress, { finish: false })) : s;
    };
    let location = session;
    let res: HttpResponse;
    if (blob.size <= this.opts.monolithicMax) {
      const url = new URL(location);
      url.searchParams.set('digest', blob.digest);
      res = await this.request({ method: 'PUT', url, headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }, body: body(0, blob.size), scopes, ok: [201], retry: false, what: `uploading ${short(blob.digest)}` });
    } else {
      let offset = 0;
      while (offset < blob.size) {
        const end = Math.min(blob.size, offset + this.opts.chunkSize);
        const patch = await this.request({
          method: 'PATCH', url: location, scopes, ok: [202], retry: false, what: `uploading ${short(blob.digest)} bytes ${offset}-${end - 1}`,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset), 'content-range': `${offset}-${end - 1}` },
          body: body(offset, end),
        });
        discard(patch);
        location = this.location(patch);
        offset = rangeEnd(patch) ?? end;
      }
      const url = new URL(location);
      url.searchParams.set('digest', blob.digest);
      res = await this.request({ method: 'PUT', url, headers: { 'content-length': '0' }, scopes, ok: [201], retry: false, what: `completing ${short(blob.digest)}` });
    }
    discard(res);
    const stored = header(res, 'docker-content-digest');
    if (stored && stored !== blob.digest) throw new SlimError(`${this.host} stored blob ${short(blob.digest)} as ${stored}`, { code: 'REGISTRY_DIGEST' });
  }

  /** PUT a manifest; the registry must store it under the digest of exactly these bytes. */
  async putManifest(repo: string, reference: string, mediaType: string, raw: Buffer): Promise<{ digest: Digest; subject?: string }> {
    const digest = sha256(raw);
    const res = await this.request({ method: 'PUT', url: `v2/${repo}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: raw, scopes: [pushScope(repo)], ok: [201], what: `putting manifest ${reference}` });
    discard(res);
    const stored = header(res, 'docker-content-digest');
    if (stored && stored !== digest) throw new SlimError(`${this.host} stored manifest ${reference} as ${stored}, not ${digest}`, { code: 'REGISTRY_DIGEST' });
    const subject = header(res, 'oci-subject');
    return { digest, ...(subject ? { subject } : {}) };
  }

  /**
   * Delete a manifest by digest (and so every tag on it). False when the registry does not allow
   * deletes (405, or distribution with storage delete off); a manifest already gone is fine.
   */
  async deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.request({ method: 'DELETE', url: `v2/${repo}/manifests/${digest}`, scopes: [pushScope(repo)], ok: [200, 202, 404, 405], what: `deleting manifest ${short(digest)}` });
    discard(res);
    return res.status !== 405;
  }

  /**
   * Before a build that pushes here: the registry answers, and the credentials may push to `repo`
   * (a token for the push scope from the registry's token service, or Basic credentials it accepts).
   */
  async checkPush(repo: string): Promise<void> {
    await this.authorization([pushScope(repo)]);
    if (this.challenge?.scheme === 'basic') discard(await this.request({ method: 'GET', url: 'v2/', scopes: [pushScope(repo)], ok: [200], what: 'checking the credentials' }));
  }

  /** The manifest's bytes, checked against the digest asked for (or the one the registry names). */
  async getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<{ raw: Buffer; mediaType: string; digest: Digest } | undefined> {
    const res = await this.request({ method: 'GET', url: `v2/${repo}/manifests/${reference}`, headers: { accept }, scopes: [pullScope(repo)], ok: [200, 404], what: `getting manifest ${reference}` });
    if (res.status === 404) return void discard(res);
    const raw = await readBody(res);
    const digest = sha256(raw);
    const expected = reference.startsWith('sha256:') ? reference : header(res, 'docker-content-digest');
    if (expected && expected !== digest) throw new SlimError(`manifest ${reference} from ${this.host}/${repo} has digest ${digest}, expected ${expected}`, { code: 'REGISTRY_DIGEST' });
    const mediaType = (JSON.parse(raw.toString('utf8')) as { mediaType?: string }).mediaType ?? header(res, 'content-type') ?? '';
    return { raw, mediaType, digest };
  }

  /** Stream a blob to a file, written under a temporary name and renamed only when its digest matches. */
  async fetchBlob(repo: string, digest: Digest, file: string): Promise<void> {
    const res = await this.request({ method: 'GET', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200], follow: true, what: `getting blob ${short(digest)}` });
    const tmp = `${file}.slim-tmp-${process.pid}`;
    const hash = new HashingStream();
    try {
      await pipeline(res.body, hash, createWriteStream(tmp));
      if (hash.digest.digest !== digest) throw new SlimError(`blob from ${this.host}/${repo} has digest ${hash.digest.digest}, expected ${digest}`, { code: 'REGISTRY_DIGEST' });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async readBlob(repo: string, digest: Digest, limit: number): Promise<Buffer> {
    const res = await this.request({ method: 'GET', url: `v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], ok: [200], follow: true, what: `getting blob ${short(digest)}` });
    const data = await readBody(res, limit);
    if (sha256(data) !== digest) throw new SlimError(`blob from ${this.host}/${repo} has digest ${sha256(data)}, expected ${digest}`, { code: 'REGISTRY_DIGEST' });
    return data;
  }

  /** The referrers API (OCI 1.1); undefined when the registry lacks it, so the caller falls back to the tag schema. */
  async referrersApi(repo: string, digest: Digest): Promise<Buffer | undefined> {
    const res = await this.request({ method: 'GET', url: `v2/${repo}/referrers/${digest}`, headers: { accept: 'application/vnd.oci.image.index.v1+json' }, scopes: [pullScope(repo)], ok: [200, 404], what: 'listing referrers' });
    const type = header(res, 'content-type') ?? '';
    if (res.status !== 200 || !type.startsWith('application/vnd.oci.image.index.v1+json')) return void discard(res);
    return readBody(res);
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  private location(res: HttpResponse): URL {
    const loc = header(res, 'location');
    if (!loc) throw new SlimError(`${this.host} answered ${res.status} without a Location header`, { code: 'REGISTRY_FAILED' });
    return new URL(loc, res.url);
  }

  /** Send with auth and retries; statuses outside `ok` become errors that name the registry's own message. */
  private async request(r: RegistryRequest & { follow?: boolean }): Promise<HttpResponse> {
    const { retries, retryDelayMs } = this.opts;
    let url = typeof r.url === 'string' ? this.url(r.url) : r.url;
    let reauthorised = false;
    let attempt = 0;
    let redirects = 0;
    for (;;) {
      const sameHost = url.host === this.base.host;
      const auth = sameHost && !r.anonymous ? await this.authorization(r.scopes) : undefined;
      let res: HttpResponse;
      try {
        res = await send({ method: r.method, url, headers: { ...r.headers, ...(auth ? { authorization: auth } : {}) }, ...(r.body ? { body: r.body } : {}), idleTimeoutMs: this.opts.idleTimeoutMs, ...(this.opts.signal ? { signal: this.opts.signal } : {}) });
      } catch (err) {
        if (!(err instanceof NetworkError) || r.retry === false || attempt >= retries) throw err instanceof NetworkError ? unreachable(this.host, r.what, err) : err;
        attempt++;
        this.opts.onRetry?.(r.what, attempt, err.message);
        await this.backoff(retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      if (r.ok.includes(res.status)) return res;
      if (r.follow && [301, 302, 303, 307, 308].includes(res.status) && header(res, 'location') && redirects++ < 5) {
        discard(res);
        url = new URL(header(res, 'location')!, url);
        continue;
      }
      if (res.status === 401 && sameHost && !reauthorised) {
        discard(res);
        reauthorised = true;
        this.challenge = parseChallenge(header(res, 'www-authenticate')) ?? this.challenge;
        this.tokens.clear();
        continue;
      }
      if (TRANSIENT.has(res.status) && r.retry !== false && attempt < retries) {
        discard(res);
        attempt++;
        this.opts.onRetry?.(r.what, attempt, `HTTP ${res.status}`);
        await this.backoff(retryAfterMs(header(res, 'retry-after')) ?? retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      throw await statusError(this.host, r.what, res);
    }
  }

  private backoff(ms: number): Promise<void> {
    return sleep(Math.min(ms, 10_000), undefined, this.opts.signal ? { signal: this.opts.signal } : undefined);
  }

  /** The Authorization header for these scopes, after learning what the registry asks for from GET /v2/. */
  private async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.challenge === undefined) {
      const res = await this.request({ method: 'GET', url: 'v2/', scopes: [], ok: [200, 401], anonymous: true, what: 'contacting the registry' });
      discard(res);
      this.challenge = res.status === 401 ? (parseChallenge(header(res, 'www-authenticate')) ?? null) : null;
      if (res.status === 401 && !this.challenge) throw new SlimError(`${this.host} asks for an authentication scheme slim does not speak (${header(res, 'www-authenticate') ?? 'none named'})`, { code: 'REGISTRY_AUTH' });
    }
    const c = this.challenge;
    if (!c) return undefined;
    const creds = await this.creds();
    if (c.scheme === 'basic') {
      if (!creds) throw noCredentials(this.host);
      return basic(creds);
    }
    if (scopes.length === 0) return undefined;
    const key = [...scopes].sort().join(' ');
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(c, scopes, creds);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  /** A token from the realm the challenge names; transient failures are retried as any request. */
  private async fetchToken(c: Challenge, scopes: string[], creds: Credentials | null): Promise<string> {
    const url = tokenUrl(c, scopes);
    const headers = creds ? { authorization: basic(creds) } : undefined;
    const res = await this.request({ method: 'GET', url, ...(headers ? { headers } : {}), scopes: [], ok: [200, 401, 403], anonymous: true, what: `getting a token from ${url.host}` });
    if (res.status !== 200) {
      discard(res);
      throw creds
        ? new SlimError(`the token service ${url.host} rejected the credentials for ${this.host} (from ${creds.source})`, { code: 'REGISTRY_AUTH', hint: 'check the user and password or token; `docker login` stores them' })
        : noCredentials(this.host);
    }
    const j = JSON.parse((await readBody(res)).toString('utf8')) as { token?: string; access_token?: string };
    const token = j.token ?? j.access_token;
    if (!token) throw new SlimError(`the token service ${url.host} answered without a token`, { code: 'REGISTRY_AUTH' });
    return token;
  }

  private async creds(): Promise<Credentials | null> {
    if (this.credentials === undefined) this.credentials = (await findCredentials(this.host, this.opts.env)) ?? null;
    return this.credentials;
  }
}

function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function short(d: string): string {
  return d.slice(0, 19);
}

/** `Range: 0-1023` → the next offset, 1024. */
function rangeEnd(res: HttpResponse): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(header(res, 'range') ?? '');
  return m ? Number(m[1]) + 1 : undefined;
}

function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  return Number.isFinite(s) ? s * 1000 : undefined;
}

function isTransient(err: unknown): boolean {
  return err instanceof SlimError && err.code === 'REGISTRY_TRANSIENT';
}

function unreachable(host: string, what: string, err: Error): SlimError {
  return new SlimError(`${what} at ${host}: ${err.message}`, { code: 'REGISTRY_TRANSIENT', hint: 'is the registry up and reachable from here? (an https registry with its own CA needs NODE_EXTRA_CA_CERTS)', cause: err });
}

function noCredentials(host: string): SlimError {
  return new SlimError(`${host} asks for credentials and none were found`, { code: 'REGISTRY_AUTH', hint: 'set SLIM_REGISTRY_USER and SLIM_REGISTRY_PASSWORD, or `docker login` to it' });
}

/** A registry's error body is `{"errors":[{"code","message"}]}`; its first message says most. */
async function statusError(host: string, what: string, res: HttpResponse): Promise<SlimError> {
  let detail = '';
  try {
    const body = (await readBody(res, 64 * 1024)).toString('utf8');
    const j = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const e = j.errors?.[0];
    if (e) detail = `: ${e.code ?? ''}${e.message ? ` (${e.message})` : ''}`;
  } catch {
    // not JSON: the status says enough
  }
  // 416: an upload session lost track of what it holds (a cut chunk); a fresh session starts over.
  const code = res.status === 401 || res.status === 403 ? 'REGISTRY_AUTH' : TRANSIENT.has(res.status) || res.status === 416 ? 'REGISTRY_TRANSIENT' : 'REGISTRY_FAILED';
  const hint = res.status === 401 || res.status === 403 ? 'the credentials do not allow this; check SLIM_REGISTRY_USER/SLIM_REGISTRY_PASSWORD or `docker login`' : undefined;
  return new SlimError(`${what} at ${host}: HTTP ${res.status}${detail}`, { code, ...(hint ? { hint } : {}) });
}
