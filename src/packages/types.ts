import type { ImagePath } from '../rootfs/entry.js';

export type PackageManager = 'dpkg' | 'apk';

/** An installed package as its database records it. */
export interface InstalledPackage {
  manager: PackageManager;
  name: string;
  version: string;
  arch?: string;
}

/** Package name -> the paths its package database lists (dpkg or apk), as listed. */
export type PackageFiles = Map<string, ImagePath[]>;

/** What a package database recorded about one installed file. */
export interface InstalledFile {
  /** The layer that last wrote the database record of its package (the install). */
  layer: number;
  /** The content's checksum at install, when the database has one (dpkg: md5; apk: sha1). */
  sum?: { algorithm: 'md5' | 'sha1'; hex: string };
}

/** The distribution, from /etc/os-release: what a package URL names as its namespace and distro. */
export interface OsRelease {
  id: string;
  versionId?: string;
}

/** What an image's package databases say, read once for the closure, the SBOM, inspect and diff. */
export interface PackageDatabase {
  /** The managers whose database of installed packages (dpkg status, apk installed) the image has: none, one, or rarely both. */
  managers: PackageManager[];
  /** The installed packages of every manager (dpkg: those whose status is installed). */
  packages: InstalledPackage[];
  /** The files each package lists; empty when the image has no database. */
  files: PackageFiles;
  /** By real path: when each package-owned file was installed and its checksum then. */
  installed: Map<ImagePath, InstalledFile>;
  os?: OsRelease;
}
