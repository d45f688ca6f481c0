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

/** apk's `Z:` line after an `R:` file: `Q1` and the base64 of the content's SHA-1, as hex by path. */
export function parseApkChecksums(text: string): Map<ImagePath, string> {
  const out = new Map<ImagePath, string>();
  let dir = '';
  let file: string | undefined;
  for (const line of text.split('\n')) {
    const [k, v] = [line.slice(0, 2), line.slice(2)];
    if (line === '') [dir, file] = ['', undefined];
    else if (k === 'F:') [dir, file] = [v, undefined];
    else if (k === 'R:') file = '/' + (dir ? `${dir}/${v}` : v);
    else if (k === 'Z:' && file && v.startsWith('Q1')) out.set(file, Buffer.from(v.slice(2), 'base64').toString('hex'));
  }
  return out;
}

/** dpkg's `<package>[:arch].md5sums`: `<md5>  <path without the leading slash>` per line. */
export function parseDpkgMd5sums(text: string): Map<ImagePath, string> {
  const out = new Map<ImagePath, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}) [ *](.+)$/.exec(line);
    if (m) out.set('/' + m[2]!.replace(/^\/+/, ''), m[1]!);
  }
  return out;
}

/** What a package database recorded about one installed file. */
export interface InstalledFile {
  /** The layer that last wrote the database record of its package (the install). */
  layer: number;
  /** The content's checksum at install, when the database has one (dpkg: md5; apk: sha1). */
  sum?: { algorithm: 'md5' | 'sha1'; hex: string };
}

/**
 * By real path, when each package-owned file was installed and its checksum then: a file that a
 * later layer wrote with other content (a COPY over a package's config or page) is no longer
 * the package's. dpkg conffiles have no md5sums line: they carry only the layer.
 */
export async function readInstalledFiles(index: FileIndex, content: ContentReader): Promise<Map<ImagePath, InstalledFile>> {
  const out = new Map<ImagePath, InstalledFile>();
  const put = (p: ImagePath, layer: number, sum?: InstalledFile['sum']) => {
    const r = index.resolve(p, { followLast: false });
    if (!r.entry || r.entry.kind === 'dir') return;
    const had = out.get(r.real);
    if (!had || layer >= had.layer) out.set(r.real, { layer, ...(sum ? { sum } : {}) });
  };
  for (const e of index.children(DPKG_INFO)) {
    if (e.kind !== 'file' || !e.path.endsWith('.list')) continue;
    const sums = index.resolve(e.path.replace(/\.list$/, '.md5sums')).entry;
    const md5 = sums?.kind === 'file' ? parseDpkgMd5sums((await content.read(sums)).toString('latin1')) : new Map<ImagePath, string>();
    for (const p of parseDpkgList((await content.read(e)).toString('latin1'))) {
      const hex = md5.get(p);
      put(p, e.meta.layer, hex ? { algorithm: 'md5', hex } : undefined);
    }
  }
  const apk = index.resolve(APK_INSTALLED).entry;
  if (apk?.kind === 'file') {
    const text = (await content.read(apk)).toString('latin1');
    const sha1 = parseApkChecksums(text);
    for (const paths of parseApkInstalled(text).values()) {
      for (const p of paths) {
        const hex = sha1.get(p);
        put(p, apk.meta.layer, hex ? { algorithm: 'sha1', hex } : undefined);
      }
    }
  }
  return out;
}

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
