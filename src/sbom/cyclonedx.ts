import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { PackageFiles } from '../closure/packages.js';
import type { InstalledPackage, OsRelease } from './package-db.js';

export interface SbomInput {
  index: FileIndex;
  /** Real paths kept in the slim image. */
  kept: (p: ImagePath) => boolean;
  installed: InstalledPackage[];
  files: PackageFiles;
  os?: OsRelease;
  image: { name: string; digest: string };
  tool: { name: string; version: string };
  timestamp: string;
}

export interface PackageKept {
  name: string;
  version: string;
  files: number;
  filesKept: number;
  bytes: number;
  bytesKept: number;
}

/** Which of each package's files (regular files and symlinks, resolved as dpkg lists them through merged /usr) the slim image keeps. */
export function packagesKept(input: Pick<SbomInput, 'index' | 'kept' | 'installed' | 'files'>): PackageKept[] {
  const out: PackageKept[] = [];
  for (const pkg of input.installed) {
    const listed = input.files.get(pkg.name) ?? [];
    const seen = new Set<ImagePath>();
    let files = 0;
    let filesKept = 0;
    let bytes = 0;
    let bytesKept = 0;
    for (const p of listed) {
      const r = input.index.resolve(p, { followLast: false });
      if (!r.entry || r.entry.kind === 'dir' || seen.has(r.real)) continue;
      // Merged /usr: dpkg lists /bin for every package with files there, and /bin is a symlink to a directory.
      if (r.entry.kind === 'symlink' && input.index.resolve(p).entry?.kind === 'dir') continue;
      seen.add(r.real);
      const size = r.entry.kind === 'file' ? r.entry.size : 0;
      files++;
      bytes += size;
      if (input.kept(r.real)) {
        filesKept++;
        bytesKept += size;
      }
    }
    if (filesKept > 0) out.push({ name: pkg.name, version: pkg.version, files, filesKept, bytes, bytesKept });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A package URL (purl spec): pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12. */
export function purlOf(pkg: InstalledPackage, os: OsRelease | undefined): string {
  const type = pkg.manager === 'dpkg' ? 'deb' : 'apk';
  const namespace = os?.id ?? (pkg.manager === 'dpkg' ? 'debian' : 'alpine');
  const q = new URLSearchParams();
  if (pkg.arch) q.set('arch', pkg.arch);
  if (os?.versionId) q.set('distro', `${os.id}-${os.versionId}`);
  const query = q.toString();
  return `pkg:${type}/${encodeURIComponent(namespace)}/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}${query ? `?${query}` : ''}`;
}

/** A serial number that is the same for the same image: a UUID made from its digest. */
function serialOf(digest: string): string {
  const h = digest.replace(/^sha256:/, '').padEnd(32, '0');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * CycloneDX 1.5 JSON of the slim image: each package from the original with at least one file
 * kept, with its package URL (what scanners match vulnerabilities on) and the fraction kept.
 */
export function cycloneDx(input: SbomInput): Record<string, unknown> {
  const kept = packagesKept(input);
  const byName = new Map(input.installed.map((p) => [p.name, p]));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: serialOf(input.image.digest),
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      tools: { components: [{ type: 'application', name: input.tool.name, version: input.tool.version }] },
      component: { type: 'container', 'bom-ref': input.image.digest, name: input.image.name, version: input.image.digest },
    },
    components: kept.map((k) => {
      const purl = purlOf(byName.get(k.name)!, input.os);
      return {
        type: 'library',
        'bom-ref': purl,
        name: k.name,
        version: k.version,
        purl,
        properties: [
          { name: 'slim:files', value: String(k.files) },
          { name: 'slim:files-kept', value: String(k.filesKept) },
          { name: 'slim:fraction-kept', value: (k.files ? k.filesKept / k.files : 0).toFixed(3) },
          { name: 'slim:bytes-kept', value: String(k.bytesKept) },
        ],
      };
    }),
  };
}
