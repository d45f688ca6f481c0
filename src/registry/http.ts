import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A fresh stream each call, so that a retry or an auth round can send the body again. */
  body?: Buffer | (() => Readable);
  signal?: AbortSignal;
  /** No bytes either way for this long: the request fails (and may be retried). */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: Readable;
}

/** A failure below HTTP (refused, reset, timed out): worth another try. */
export class NetworkError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** One request on node:http(s); the caller consumes or discards `body`. Redirects are not followed here. */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const lib = req.url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'slim', ...req.headers };
  if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const r = lib.request(req.url, { method: req.method, headers, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    r.setTimeout(req.idleTimeoutMs ?? 60_000, () => r.destroy(Object.assign(new Error(`no response from ${req.url.host} for ${(req.idleTimeoutMs ?? 60_000) / 1000} s`), { code: 'ETIMEDOUT' })));
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return reject(req.signal?.reason ?? err);
      reject(new NetworkError(`${req.method} ${req.url.host}${req.url.pathname}: ${err.message}`, err.code));
    });
    if (req.body === undefined) return void r.end();
    if (Buffer.isBuffer(req.body)) return void r.end(req.body);
    // A body stream that fails (or a socket that closes) surfaces through the request's 'error'.
    pipeline(req.body(), r).catch((err: NodeJS.ErrnoException) => r.destroy(err));
  });
}

const MAX_TEXT = 4 * 1024 * 1024;

/** The whole body as bytes; registries send small JSON documents, so anything huge is refused. */
export async function readBody(res: HttpResponse, limit = MAX_TEXT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new Error(`response from ${res.url.host} is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function discard(res: HttpResponse): void {
  res.body.resume();
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function bufferBody(b: Buffer): () => Readable {
  return () => Readable.from([b]);
}
