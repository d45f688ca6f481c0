/** A `WWW-Authenticate` challenge from a registry (RFC 7235 syntax; the Docker token flow's parameters). */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/**
 * Parse `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"` and
 * `Basic realm="x"`. Several challenges may share one header; the first we can answer wins.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const re = /([A-Za-z]+)\s+((?:[A-Za-z0-9_-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/g;
  for (const m of header.matchAll(re)) {
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'basic' && scheme !== 'bearer') continue;
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    }
    return { scheme, params };
  }
  if (/^\s*basic\b/i.test(header)) return { scheme: 'basic', params: {} };
  return undefined;
}

/** The token endpoint's URL for these scopes. */
export function tokenUrl(c: Challenge, scopes: string[]): URL {
  const realm = c.params.realm;
  if (!realm) throw new Error('the registry asked for a bearer token without naming a realm');
  const url = new URL(realm);
  if (c.params.service) url.searchParams.set('service', c.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  return url;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}
