import type { ImagePath } from '../rootfs/entry.js';
import type { InstalledPackage, PackageFiles } from './types.js';

export const APK_INSTALLED = '/lib/apk/db/installed';

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
