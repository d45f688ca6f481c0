import { SlimError, ExitCode } from '../errors.js';
import { parseImageName } from '../image/reference.js';
import type { Digest } from '../image/types.js';

/** A reference to an image in a registry: which host to talk to and what to ask it for. */
export interface RegistryRef {
  /** As written by the user (host[:port]); `docker.io` for Docker Hub. */
  host: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

const DOCKER_HUB = 'docker.io';

/**
 * `HOST[:PORT]/REPO[:TAG][@DIGEST]`, with Docker's rules: a first component with a dot, a colon
 * or `localhost` is a host; anything else is on Docker Hub (`library/` for one-part names).
 */
export function parseRegistryRef(s: string): RegistryRef {
  const bad = () => new SlimError(`invalid registry reference "${s}"`, { code: 'BAD_REFERENCE', exitCode: ExitCode.usage, hint: 'use HOST[:PORT]/REPOSITORY[:TAG], e.g. registry.example.com/team/app:1.4-slim' });
  let name;
  try {
    name = parseImageName(s);
  } catch {
    throw bad();
  }
  const slash = name.repository.indexOf('/');
  const first = slash < 0 ? '' : name.repository.slice(0, slash);
  const isHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let host = isHost ? first : DOCKER_HUB;
  let repository = isHost ? name.repository.slice(slash + 1) : name.repository;
  if (host === 'index.docker.io') host = DOCKER_HUB;
  if (host === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!repository) throw bad();
  return { host, repository, ...(name.tag ? { tag: name.tag } : {}), ...(name.digest ? { digest: name.digest as Digest } : {}) };
}

export function formatRegistryRef(r: RegistryRef): string {
  return `${r.host}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Where the API lives: Docker Hub's API host differs from its name. */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host;
}

/** Loopback registries speak plain HTTP, as Docker allows by default; others need --insecure-registry. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
