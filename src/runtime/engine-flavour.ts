import type { JsonMessage } from './docker-streams.js';

/** Which engine serves the Docker Engine API: the same requests, a few different answers. */
export type Flavour = 'docker' | 'podman';

export const ENGINE_NAMES: Record<Flavour, string> = { docker: 'Docker', podman: 'Podman' };

/** From GET /version: Podman's compatible API lists its own engine as the component "Podman Engine". */
export function flavourOf(version: { Components?: { Name?: string }[] | null }): Flavour {
  return (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')) ? 'podman' : 'docker';
}

/** The first path component names a registry when it has a dot or a port, or is localhost (distribution's rule). */
function hasDomain(ref: string): boolean {
  const slash = ref.indexOf('/');
  if (slash < 0) return false;
  const first = ref.slice(0, slash);
  return first === 'localhost' || first.includes('.') || first.includes(':');
}

/**
 * The name slim gives Podman for a repository without a registry. Podman names what it builds or
 * loads `localhost/NAME`, and a short name is looked up there first; its compatible API would tag
 * `docker.io/NAME` instead, which the short name would then not find if an older `localhost/NAME`
 * exists. Docker's names are left as they are.
 */
export function qualifiedName(flavour: Flavour, ref: string): string {
  if (flavour !== 'podman' || /^(sha256:)?[0-9a-f]{12,64}$/.test(ref) || hasDomain(ref)) return ref;
  return `localhost/${ref}`;
}

/** A tag as Docker shows it: Podman's `localhost/` and `docker.io/[library/]` prefixes dropped, so reports read the same on both. */
export function familiarName(ref: string): string {
  return ref.replace(/^localhost\//, '').replace(/^docker\.io\/(library\/)?/, '');
}

/**
 * The image a load reports. Docker says `Loaded image ID: sha256:…` for an untagged archive and
 * `Loaded image: NAME` for a tagged one; Podman says `Loaded image: sha256:…` or
 * `Loaded image(s): NAME,…` (one line or several). An ID is taken as it is; a name must be inspected.
 */
export function loadedImageOf(messages: JsonMessage[]): { id?: string; name?: string } {
  const lines = messages.flatMap((m) => (m.stream ?? m.status ?? '').split('\n')).map((l) => l.trim());
  for (const line of lines) {
    const m = /^Loaded image(?: ID)?(?:\(s\))?: (sha256:[0-9a-f]{64})$/.exec(line);
    if (m) return { id: m[1]! };
  }
  for (const line of lines) {
    const m = /^Loaded image(?:\(s\))?: (\S+)/.exec(line);
    if (m) return { name: m[1]!.split(',')[0]! };
  }
  return {};
}
