import { createHash } from 'node:crypto';
import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import { globMatcher } from './globs.js';
import type { InstalledFile } from '../packages/database.js';

/** Never the app's: package-manager state and documentation, directories included. */
export const APP_NEVER = [
  '/var/lib/dpkg/**',
  '/var/lib/apt/**',
  '/var/lib/apk/**',
  '/lib/apk/db/**',
  '/etc/apk/**',
  '/var/lib/rpm/**',
  '/usr/lib/sysimage/**',
  '/usr/share/doc/**',
  '/usr/share/man/**',
  '/usr/share/info/**',
  '/usr/local/share/doc/**',
  '/usr/local/share/man/**',
  '/root/.cache/**',
  '/root/.npm/**',
  '/home/*/.cache/**',
  '/home/*/.npm/**',
] as const;

/**
 * Run-time output left in the image: caches, logs, temp files. Their files are left out, their
 * directories kept (an app writes its log or cache into a directory it expects to exist).
 */
export const APP_NO_FILES = ['/var/cache/**', '/var/log/**', '/tmp/**', '/var/tmp/**'] as const;

const PYC = /^(.*)\/__pycache__\/([^/]+?)\.[^./]+(?:\.opt-\d)?\.pyc$/;

export interface AppEntries {
  /** Entries no package owns (or that a later layer changed), without the exclusions; sorted. */
  paths: ImagePath[];
  /** Of those, package-owned paths a layer after the package's install wrote with other content. */
  changed: ImagePath[];
}

/**
 * `--keep app`: what the Dockerfile copied in or built, as everything the package databases (dpkg,
 * apk) do not account for: unowned files, links and directories, and owned files a later layer
 * rewrote with other content. Left out: package-manager state, docs, caches, logs, temp files,
 * and byte code (`__pycache__/*.pyc`) whose `.py` is not itself kept here: Python loads such a
 * file only beside its source (PEP 3147), and one whose source a package owns is that package's
 * cache, written at install by a maintainer script (py3compile), not part of the app.
 * `packaged` is every path the package databases list (packagedPaths), `installed` their record of each file.
 */
export async function appEntries(
  index: FileIndex,
  content: ContentReader,
  packaged: ReadonlySet<ImagePath>,
  installed: ReadonlyMap<ImagePath, InstalledFile>,
  ignored: (p: ImagePath) => boolean,
): Promise<AppEntries> {
  const never = globMatcher(APP_NEVER);
  const noFiles = globMatcher(APP_NO_FILES);
  const changed: ImagePath[] = [];
  const isApp = async (e: FileEntry): Promise<boolean> => {
    if (!packaged.has(e.path)) return true;
    if (e.kind === 'dir') return false;
    const inst = installed.get(e.path);
    if (!inst || e.meta.layer <= inst.layer) return false;
    if (e.kind !== 'file' || !inst.sum) return true;
    const hash = createHash(inst.sum.algorithm);
    for await (const chunk of content.stream(e)) hash.update(chunk as Buffer);
    return hash.digest('hex') !== inst.sum.hex;
  };
  const kept = new Set<ImagePath>();
  const pycs: ImagePath[] = [];
  const links: ImagePath[] = [];
  for (const e of index.values()) {
    if (e.path === '/' || ignored(e.path) || never(e.path)) continue;
    if (e.kind === 'dir' ? e.path.endsWith('/__pycache__') : noFiles(e.path)) continue;
    if (!(await isApp(e))) continue;
    if (packaged.has(e.path)) changed.push(e.path);
    if (e.kind === 'file' && PYC.test(e.path)) pycs.push(e.path);
    else if (e.kind === 'symlink') links.push(e.path);
    else kept.add(e.path);
  }
  for (const p of pycs) {
    const m = PYC.exec(p)!;
    if (kept.has(`${m[1]}/${m[2]}.py`)) kept.add(p);
  }
  // A kept link brings what it lands on. The links maintainer scripts make into packages
  // (alternatives, systemd and rc.d links, certificate hashes) would pull in files, and with
  // --keep-packages whole packages, the app never asked for: those are kept only when their
  // target is (the closure keeps every link to a kept file). Links to a directory, to nothing or
  // to the app's own files are the app's.
  for (const p of links) {
    const r = index.resolve(p);
    if (!r.entry || r.loop || r.entry.kind === 'dir' || kept.has(r.real)) kept.add(p);
  }
  const sort = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { paths: [...kept].sort(sort), changed: changed.filter((p) => kept.has(p)).sort(sort) };
}
