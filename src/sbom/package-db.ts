import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import { imageText } from '../sources/image-text.js';
import { APK_INSTALLED, DPKG_STATUS } from '../closure/packages.js';

/** An installed package as its database records it. */
export interface InstalledPackage {
  manager: 'dpkg' | 'apk';
  name: string;
  version: string;
  arch?: string;
}

/** The distribution, from /etc/os-release: what a package URL names as its namespace and distro. */
export interface OsRelease {
  id: string;
  versionId?: string;
}

/** dpkg's status file: RFC 822 stanzas; only packages whose Status ends in "installed" count. */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    if (!name || !version || !/\binstalled$/.test(field('Status') ?? '') || / not-installed$/.test(field('Status') ?? '')) continue;
    const arch = field('Architecture');
    out.push({ manager: 'dpkg', name, version, ...(arch ? { arch } : {}) });
  }
  return out;
}

/** apk's installed database: `P:` name, `V:` version, `A:` arch per stanza. */
export function parseApkVersions(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('P');
    const version = field('V');
    if (!name || !version) continue;
    const arch = field('A');
    out.push({ manager: 'apk', name, version, ...(arch ? { arch } : {}) });
  }
  return out;
}

export function parseOsRelease(text: string): OsRelease | undefined {
  const get = (k: string) => new RegExp(`^${k}=(?:"([^"]*)"|'([^']*)'|(.*))$`, 'm').exec(text)?.slice(1).find((v) => v !== undefined)?.trim();
  const id = get('ID');
  if (!id) return undefined;
  const versionId = get('VERSION_ID');
  return { id, ...(versionId ? { versionId } : {}) };
}

export async function readInstalledPackages(index: FileIndex, content: ContentReader): Promise<{ packages: InstalledPackage[]; os?: OsRelease }> {
  const text = (p: string) => imageText(index, content, p);
  const dpkg = await text(DPKG_STATUS);
  const apk = await text(APK_INSTALLED);
  const osText = (await text('/etc/os-release')) ?? (await text('/usr/lib/os-release'));
  const os = osText ? parseOsRelease(osText) : undefined;
  return { packages: [...(dpkg ? parseDpkgStatus(dpkg) : []), ...(apk ? parseApkVersions(apk) : [])], ...(os ? { os } : {}) };
}
