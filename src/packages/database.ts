import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import { imageText } from '../sources/image-text.js';
import { DPKG_INFO, DPKG_STATUS, dpkgPackageName, parseDpkgList, parseDpkgMd5sums, parseDpkgStatus } from './dpkg.js';
import { APK_INSTALLED, parseApkChecksums, parseApkInstalled, parseApkVersions } from './apk.js';
import { parseOsRelease } from './os-release.js';
import type { InstalledFile, PackageDatabase, PackageFiles, PackageManager } from './types.js';

export type { InstalledFile, InstalledPackage, OsRelease, PackageDatabase, PackageFiles, PackageManager } from './types.js';

/**
 * The image's dpkg and apk databases and its os-release, each file read once. An installed
 * file's record is the one of the latest layer that wrote a database listing it: a file that a
 * later layer wrote with other content (a COPY over a package's config or page) is no longer
 * the package's. dpkg conffiles have no md5sums line: they carry only the layer.
 */
export async function readPackageDatabase(index: FileIndex, content: ContentReader): Promise<PackageDatabase> {
  const text = (p: ImagePath) => imageText(index, content, p);
  const files: PackageFiles = new Map();
  const installed = new Map<ImagePath, InstalledFile>();
  const put = (p: ImagePath, layer: number, sum?: InstalledFile['sum']) => {
    const r = index.resolve(p, { followLast: false });
    if (!r.entry || r.entry.kind === 'dir') return;
    const had = installed.get(r.real);
    if (!had || layer >= had.layer) installed.set(r.real, { layer, ...(sum ? { sum } : {}) });
  };

  for (const e of index.children(DPKG_INFO)) {
    if (e.kind !== 'file' || !e.path.endsWith('.list')) continue;
    const listed = parseDpkgList((await content.read(e)).toString('latin1'));
    // One package of several architectures (multiarch) has a list for each.
    const name = dpkgPackageName(e.path.slice(DPKG_INFO.length + 1));
    if (name) files.set(name, [...(files.get(name) ?? []), ...listed]);
    const md5 = parseDpkgMd5sums((await text(e.path.replace(/\.list$/, '.md5sums'))) ?? '');
    for (const p of listed) {
      const hex = md5.get(p);
      put(p, e.meta.layer, hex ? { algorithm: 'md5', hex } : undefined);
    }
  }
  const status = await text(DPKG_STATUS);

  const apk = index.resolve(APK_INSTALLED).entry;
  const apkText = apk?.kind === 'file' ? (await content.read(apk)).toString('latin1') : undefined;
  if (apk && apkText !== undefined) {
    const sha1 = parseApkChecksums(apkText);
    for (const [name, paths] of parseApkInstalled(apkText)) {
      files.set(name, paths);
      for (const p of paths) {
        const hex = sha1.get(p);
        put(p, apk.meta.layer, hex ? { algorithm: 'sha1', hex } : undefined);
      }
    }
  }

  const osText = (await text('/etc/os-release')) ?? (await text('/usr/lib/os-release'));
  const os = osText ? parseOsRelease(osText) : undefined;
  const managers: PackageManager[] = [...(status !== undefined ? (['dpkg'] as const) : []), ...(apkText !== undefined ? (['apk'] as const) : [])];
  return {
    managers,
    packages: [...(status !== undefined ? parseDpkgStatus(status) : []), ...(apkText !== undefined ? parseApkVersions(apkText) : [])],
    files,
    installed,
    ...(os ? { os } : {}),
  };
}

/** How many packages a manager's database lists as installed; null when the image has no such database. */
export function installedCount(db: Pick<PackageDatabase, 'managers' | 'packages'>, manager: PackageManager): number | null {
  return db.managers.includes(manager) ? db.packages.filter((p) => p.manager === manager).length : null;
}
