import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { PackageFiles } from './types.js';

/** Every path a package lists, directories included, as the real path of the entry it names. */
export function packagedPaths(index: FileIndex, packages: Map<string, readonly ImagePath[]>): Set<ImagePath> {
  const out = new Set<ImagePath>();
  for (const paths of packages.values()) {
    for (const p of paths) {
      const r = index.resolve(p, { followLast: false });
      if (r.entry) out.add(r.real);
    }
  }
  return out;
}

/**
 * Which packages own each real path. Paths are resolved through the image's symlinks: on a
 * merged-/usr system dpkg lists /bin/ls, which is /usr/bin/ls. Directories belong to many
 * packages and own nothing here.
 */
export function ownersByRealPath(index: FileIndex, packages: PackageFiles): Map<ImagePath, string[]> {
  const owners = new Map<ImagePath, string[]>();
  for (const [pkg, paths] of packages) {
    for (const p of paths) {
      const r = index.resolve(p, { followLast: false });
      if (!r.entry || r.entry.kind === 'dir') continue;
      // Merged /usr: dpkg lists the directory /lib for many packages, and /lib is a symlink to one.
      if (r.entry.kind === 'symlink' && index.resolve(p).entry?.kind === 'dir') continue;
      const list = owners.get(r.real);
      if (!list) owners.set(r.real, [pkg]);
      else if (!list.includes(pkg)) list.push(pkg);
    }
  }
  return owners;
}
