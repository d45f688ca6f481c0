import { SlimError } from '../errors.js';
import { parseChallenge, tokenUrl, type Challenge } from './challenge.js';
import { findCredentials, type Credentials } from './credentials.js';
import { discard, header, readBody, type HttpResponse } from './http.js';
import { registryJson, type RegistryRequest } from './request.js';

/**
 * Token and basic auth for one registry host, answered from the registry's own challenge. Requests
 * it makes itself (the first contact, the token service) go out anonymous through `send`.
 */
export class RegistryAuth {
  /** undefined: not asked yet; null: the registry lets us in without auth. */
  private challenge: Challenge | null | undefined;
  private credentials: Credentials | null | undefined;
  private readonly tokens = new Map<string, string>();
  private readonly host: string;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly send: (r: RegistryRequest) => Promise<HttpResponse>;

  constructor(host: string, env: NodeJS.ProcessEnv | undefined, send: (r: RegistryRequest) => Promise<HttpResponse>) {
    this.host = host;
    this.env = env;
    this.send = send;
  }

  /** The scheme the registry asked for; undefined before the first contact and when it asks for none. */
  get scheme(): Challenge['scheme'] | undefined {
    return this.challenge?.scheme;
  }

  /** A 401 on a request that carried auth: the registry's new challenge (if it sent one), and fresh tokens. */
  rechallenge(wwwAuthenticate: string | undefined): void {
    this.challenge = parseChallenge(wwwAuthenticate) ?? this.challenge;
    this.tokens.clear();
  }

  /** The Authorization header for these scopes, after learning what the registry asks for from GET /v2/. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.challenge === undefined) {
      const res = await this.send({ method: 'GET', url: 'v2/', scopes: [], ok: [200, 401], anonymous: true, what: 'contacting the registry' });
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
    const res = await this.send({ method: 'GET', url, ...(headers ? { headers } : {}), scopes: [], ok: [200, 401, 403], anonymous: true, what: `getting a token from ${url.host}` });
    if (res.status !== 200) {
      discard(res);
      throw creds
        ? new SlimError(`the token service ${url.host} rejected the credentials for ${this.host} (from ${creds.source})`, { code: 'REGISTRY_AUTH', hint: 'check the user and password or token; `docker login` stores them' })
        : noCredentials(this.host);
    }
    const j = registryJson<{ token?: string; access_token?: string }>(await readBody(res), `the token from ${url.host}`);
    const token = j.token ?? j.access_token;
    if (!token) throw new SlimError(`the token service ${url.host} answered without a token`, { code: 'REGISTRY_AUTH' });
    return token;
  }

  private async creds(): Promise<Credentials | null> {
    if (this.credentials === undefined) this.credentials = (await findCredentials(this.host, this.env)) ?? null;
    return this.credentials;
  }
}

function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function noCredentials(host: string): SlimError {
  return new SlimError(`${host} asks for credentials and none were found`, { code: 'REGISTRY_AUTH', hint: 'set SLIM_REGISTRY_USER and SLIM_REGISTRY_PASSWORD, or `docker login` to it' });
}
