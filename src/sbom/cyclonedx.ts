import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { ownersByRealPath } from '../packages/owners.js';
import type { InstalledPackage, OsRelease, PackageFiles } from '../packages/database.js';

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
  const rows = new Map(input.installed.map((pkg) => [pkg.name, { name: pkg.name, version: pkg.version, files: 0, filesKept: 0, bytes: 0, bytesKept: 0 }]));
  for (const [real, owners] of ownersByRealPath(input.index, input.files)) {
    const entry = input.index.get(real)!;
    const size = entry.kind === 'file' ? entry.size : 0;
    const kept = input.kept(real);
    for (const name of owners) {
      const row = rows.get(name);
      if (!row) continue;
      row.files++;
      row.bytes += size;
      if (kept) {
        row.filesKept++;
        row.bytesKept += size;
      }
    }
  }
  return [...rows.values()].filter((r) => r.filesKept > 0).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
