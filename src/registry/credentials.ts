import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages (never the secret itself). */
  source: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Keys in docker's config.json name a registry in several spellings; Docker Hub's is a URL. */
function keysFor(host: string): string[] {
  if (host === 'docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
}

/**
 * Credentials for a registry host, looked up as `docker login` leaves them: SLIM_REGISTRY_USER and
 * SLIM_REGISTRY_PASSWORD first (the usual way to hand CI secrets over), then $DOCKER_CONFIG or
 * ~/.docker/config.json: a credential helper for the host, inline `auths`, the default store.
 */
export async function findCredentials(host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (env.SLIM_REGISTRY_USER && env.SLIM_REGISTRY_PASSWORD !== undefined) {
    return { username: env.SLIM_REGISTRY_USER, password: env.SLIM_REGISTRY_PASSWORD, source: 'SLIM_REGISTRY_USER/SLIM_REGISTRY_PASSWORD' };
  }
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  let cfg: DockerConfig;
  try {
    cfg = JSON.parse(text) as DockerConfig;
  } catch {
    return undefined;
  }
  const keys = keysFor(host);
  const helperKey = keys.find((k) => cfg.credHelpers?.[k]);
  if (helperKey) return fromHelper(cfg.credHelpers![helperKey]!, helperKey, env);
  for (const k of keys) {
    const a = cfg.auths?.[k];
    if (!a) continue;
    if (a.auth) {
      const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: file };
    }
    if (a.username && a.password !== undefined) return { username: a.username, password: a.password, source: file };
  }
  if (cfg.credsStore) {
    for (const k of keys) {
      const c = await fromHelper(cfg.credsStore, k, env).catch(() => undefined);
      if (c) return c;
    }
  }
  return undefined;
}

/** `docker-credential-NAME get`, the protocol docker's own credential helpers speak. */
function fromHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        resolve(j.Username && j.Secret !== undefined ? { username: j.Username, password: j.Secret, source: `docker-credential-${name}` } : undefined);
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(serverUrl);
  });
}
