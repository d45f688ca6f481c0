/**
 * An absolute, normalised path inside an image, as a byte string: each character is one byte
 * (latin1), so names that are not valid UTF-8 survive unchanged. Use `displayPath` for people.
 */
export type ImagePath = string;

export interface Meta {
  mode: number; // permission bits incl. setuid/setgid/sticky (07777), no file-type bits
  uid: number;
  gid: number;
  mtime: number; // seconds since the epoch
  uname?: string;
  gname?: string;
  xattrs?: Record<string, string>;
  layer: number; // index of the layer that last wrote this entry (0 = base)
}

/** Where the bytes of a regular file can be read again. */
export interface ContentLocator {
  layer: number;
  offset: number; // into the content spool
  size: number;
}

/** Shared by all hard links to one file, so that links keep pointing at the same bytes. */
export type InodeId = number;

export type FileEntry =
  | { kind: 'file'; path: ImagePath; meta: Meta; inode: InodeId; size: number; at: ContentLocator }
  | { kind: 'dir'; path: ImagePath; meta: Meta }
  | { kind: 'fifo'; path: ImagePath; meta: Meta }
  | { kind: 'symlink'; path: ImagePath; meta: Meta; target: string }
  | { kind: 'char' | 'block'; path: ImagePath; meta: Meta; major: number; minor: number };

export type FileKind = FileEntry['kind'];

export function displayPath(p: ImagePath): string {
  return Buffer.from(p, 'latin1').toString('utf8');
}
