import { setTimeout as sleep } from 'node:timers/promises';
import { SlimError } from '../errors.js';
import { RegistryAuth } from './auth.js';
import { discard, header, NetworkError, send, type HttpResponse } from './http.js';
import { apiHost, isLoopbackHost } from './registry-ref.js';
import { retryAfterMs, statusError, TRANSIENT, unreachable, type RegistryRequest } from './request.js';

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

const MiB = 1024 * 1024;

/** Requests to one registry host: authorised, retried with backoff when transient, redirects followed when asked. */
export class RegistryTransport {
  readonly host: string;
  readonly opts: Required<Omit<ClientOptions, 'signal' | 'onRetry' | 'insecure' | 'env'>> & ClientOptions;
  readonly auth: RegistryAuth;
  private readonly base: URL;

  constructor(host: string, opts: ClientOptions = {}) {
    this.host = host;
    const plain = opts.insecure || isLoopbackHost(host);
    this.base = new URL(`${plain ? 'http' : 'https'}://${apiHost(host)}/`);
    this.opts = { retries: 3, retryDelayMs: 500, monolithicMax: 64 * MiB, chunkSize: 32 * MiB, idleTimeoutMs: 60_000, ...opts };
    this.auth = new RegistryAuth(host, this.opts.env, (r) => this.request(r));
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }

  location(res: HttpResponse): URL {
    const loc = header(res, 'location');
    if (!loc) throw new SlimError(`${this.host} answered ${res.status} without a Location header`, { code: 'REGISTRY_FAILED' });
    return new URL(loc, res.url);
  }

  /** Send with auth and retries; statuses outside `ok` become errors that name the registry's own message. */
  async request(r: RegistryRequest & { follow?: boolean }): Promise<HttpResponse> {
    const { retries, retryDelayMs } = this.opts;
    let url = typeof r.url === 'string' ? this.url(r.url) : r.url;
    let reauthorised = false;
    let attempt = 0;
    let redirects = 0;
    for (;;) {
      const sameHost = url.host === this.base.host;
      const auth = sameHost && !r.anonymous ? await this.auth.authorization(r.scopes) : undefined;
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
        this.auth.rechallenge(header(res, 'www-authenticate'));
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

  backoff(ms: number): Promise<void> {
    return sleep(Math.min(ms, 10_000), undefined, this.opts.signal ? { signal: this.opts.signal } : undefined);
  }
}
