import { lstat, readlink } from 'node:fs/promises';
import { parentOf } from '../rootfs/safe-path.js';

/** A directory of the host seen at `target` in the container (a volume or a bind). */
export interface HostMount {
  target: string;
  source: string;
}

const MAX_LINKS = 40;

/** The host path that holds container path `p` (already free of symlinks): in the innermost mount that covers it, else in the rootfs. */
export function hostPathIn(rootfs: string, mounts: readonly HostMount[], p: string): string {
  const m = [...mounts].sort((a, b) => b.target.length - a.target.length).find((x) => p === x.target || p.startsWith(x.target === '/' ? '/' : `${x.target}/`));
  if (!m) return p === '/' ? rootfs : rootfs + p;
  const rest = p.slice(m.target.length);
  return rest ? m.source + (rest.startsWith('/') ? rest : `/${rest}`) : m.source;
}

/**
 * Resolve `p` as a process in the container would (symlinks followed inside the container's
 * view, `..` stopping at its root), reading the host only at the places that view maps to, so a
 * symlink never leads out of the container. Returns the real container path; `followLast: false`
 * keeps a final symlink (what an archive of it holds).
 */
export async function resolveInContainer(rootfs: string, mounts: readonly HostMount[], p: string, opts: { followLast?: boolean } = {}): Promise<string> {
  const followLast = opts.followLast ?? true;
  let pending = p.split('/').filter(Boolean);
  let cur = '/';
  let hops = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur = parentOf(cur);
      continue;
    }
    const next = cur === '/' ? `/${part}` : `${cur}/${part}`;
    const st = await lstat(hostPathIn(rootfs, mounts, next)).catch(() => undefined);
    // A mount target is what it mounts, whatever the rootfs has there.
    const isMount = mounts.some((m) => m.target === next);
    if (st?.isSymbolicLink() && !isMount && (pending.length > 0 || followLast)) {
      if (++hops > MAX_LINKS) throw Object.assign(new Error(`${p}: too many levels of symbolic links`), { code: 'ELOOP' });
      const target = await readlink(hostPathIn(rootfs, mounts, next));
      pending = [...target.split('/').filter(Boolean), ...pending];
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    cur = next;
  }
  return cur;
}
