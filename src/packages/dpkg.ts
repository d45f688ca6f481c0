import type { ImagePath } from '../rootfs/entry.js';
import type { InstalledPackage } from './types.js';

export const DPKG_INFO = '/var/lib/dpkg/info';
export const DPKG_STATUS = '/var/lib/dpkg/status';

/** dpkg's `<package>[:arch].list`: one absolute path per line. */
export function parseDpkgList(text: string): ImagePath[] {
  return text.split('\n').filter((l) => l.startsWith('/') && l !== '/.');
}

export function dpkgPackageName(listFile: string): string | undefined {
  const m = /^([^/]+?)(?::[a-z0-9_-]+)?\.list$/.exec(listFile);
  return m?.[1];
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
