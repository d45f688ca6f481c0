import { SlimError } from '../errors.js';
import { readBody, type HttpRequest, type HttpResponse } from './http.js';

export type RegistryRequest = Omit<HttpRequest, 'url' | 'signal'> & {
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

export const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

export function short(d: string): string {
  return d.slice(0, 19);
}

export function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  return Number.isFinite(s) ? s * 1000 : undefined;
}

export function isTransient(err: unknown): boolean {
  return err instanceof SlimError && err.code === 'REGISTRY_TRANSIENT';
}

export function unreachable(host: string, what: string, err: Error): SlimError {
  return new SlimError(`${what} at ${host}: ${err.message}`, { code: 'REGISTRY_TRANSIENT', hint: 'is the registry up and reachable from here? (an https registry with its own CA needs NODE_EXTRA_CA_CERTS)', cause: err });
}

/** A registry's error body is `{"errors":[{"code","message"}]}`; its first message says most. */
export async function statusError(host: string, what: string, res: HttpResponse): Promise<SlimError> {
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

/** A JSON document a registry (or its token service) sent: what it is not is the registry's failure, not slim's. */
export function registryJson<T>(raw: Buffer | string, what: string): T {
  try {
    return JSON.parse(raw.toString()) as T;
  } catch (err) {
    throw new SlimError(`${what} is not JSON: ${(err as Error).message}`, { code: 'REGISTRY_FAILED' });
  }
}
