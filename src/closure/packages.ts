import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';

/** Package name -> the paths its package database lists (dpkg or apk), as listed. */
export type PackageFiles = Map<string, ImagePath[]>;

const DPKG_INFO = '/var/lib/dpkg/info';
export const DPKG_STATUS = '/var/lib/dpkg/status';
export const APK_INSTALLED = '/lib/apk/db/installed';

/** dpkg's `<package>[:arch].list`: one absolute path per line. */
export function parseDpkgList(text: string): ImagePath[] {
  return text.split('\n').filter((l) => l.startsWith('/') && l !== '/.');
}

export function dpkgPackageName(listFile: string): string | undefined {
  const m = /^([^/]+?)(?::[a-z0-9_-]+)?\.list$/.exec(listFile);
  return m?.[1];
}

/** apk's installed database: stanzas with `P:` (name), `F:` (directory) and `R:` (file in it). */
export function parseApkInstalled(text: string): PackageFiles {
  const out: PackageFiles = new Map();
  let pkg: string | undefined;
  let dir = '';
  for (const line of text.split('\n')) {
    if (line === '') {
      pkg = undefined;
      dir = '';
      continue;
    }
    const [k, v] = [line.slice(0, 2), line.slice(2)];
    if (k === 'P:') {
      pkg = v;
      if (!out.has(pkg)) out.set(pkg, []);
    } else if (k === 'F:' && pkg) {
      dir = v;
      out.get(pkg)!.push('/' + dir);
    } else if (k === 'R:' && pkg) {
      out.get(pkg)!.push('/' + (dir ? `${dir}/${v}` : v));
    }
  }
  return out;
}

/** What the image's package databases say each package installed; empty when it has none. */
export async function readPackageFiles(index: FileIndex, content: ContentReader): Promise<PackageFiles> {
  const out: PackageFiles = new Map();
  for (const e of index.children(DPKG_INFO)) {
    const name = e.kind === 'file' ? dpkgPackageName(e.path.slice(DPKG_INFO.length + 1)) : undefined;
    if (!name || e.kind !== 'file') continue;
    out.set(name, [...(out.get(name) ?? []), ...parseDpkgList((await content.read(e)).toString('latin1'))]);
  }
  const apk = index.resolve(APK_INSTALLED).entry;
  if (apk?.kind === 'file') for (const [name, paths] of parseApkInstalled((await content.read(apk)).toString('latin1'))) out.set(name, paths);
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
