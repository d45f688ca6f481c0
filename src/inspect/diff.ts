import { displayPath, type FileEntry, type ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { ownersByRealPath } from '../packages/owners.js';
import type { PackageFiles } from '../packages/database.js';

/** Regular files and their bytes (a hard-linked file's bytes once), and all entries of any kind. */
export interface Tally {
  entries: number;
  files: number;
  bytes: number;
}

export interface DirDiff {
  path: string;
  removed: Tally;
  added: Tally;
  /** Present in both images, changed or not. */
  kept: Tally;
}

export interface PackageDiff {
  name: string;
  files: number;
  filesKept: number;
  filesRemoved: number;
  bytes: number;
  bytesKept: number;
  bytesRemoved: number;
  /** bytesKept / bytes, or by files for a package with no bytes. */
  keptFraction: number;
}

export const NO_PACKAGE = '(no package)';

export interface DiffReport {
  schema: 'slim.diff/v1';
  a: { ref: string; id: string; bytes: number; files: number; entries: number };
  b: { ref: string; id: string; bytes: number; files: number; entries: number };
  /** In A, not in B. */
  removed: Tally;
  /** In B, not in A. */
  added: Tally;
  /** In both, with other content, kind or mode; bytes as in B, bytesBefore as in A. */
  changed: Tally & { bytesBefore: number };
  unchanged: Tally;
  /** Grouped by directory at `depth` (absent with --by package). */
  dirs?: { depth: number; groups: DirDiff[] };
  /** A's files by the package that owns them in A's package database (absent with --by dir). */
  packages?: PackageDiff[];
}

export interface DiffInput {
  a: { ref: string; id: string; index: FileIndex; packages: PackageFiles };
  b: { ref: string; id: string; index: FileIndex };
  /** Whether two regular files at the same path hold different bytes; by size alone when not given. */
  contentDiffers?: (a: FileEntry & { kind: 'file' }, b: FileEntry & { kind: 'file' }) => boolean;
  by?: 'dir' | 'package' | 'both';
  /** Directory depth of the groups (default 3: /usr/share/doc). */
  depth?: number;
}

const tally = (): Tally => ({ entries: 0, files: 0, bytes: 0 });

/** Adds entries to tallies, a hard-linked file's bytes once per tally. */
class Counter {
  private readonly seen = new Map<Tally, Set<number>>();
  add(t: Tally, e: FileEntry): void {
    t.entries++;
    if (e.kind !== 'file') return;
    t.files++;
    let s = this.seen.get(t);
    if (!s) this.seen.set(t, (s = new Set()));
    if (s.has(e.inode)) return;
    s.add(e.inode);
    t.bytes += e.size;
  }
}

export function diffImages(input: DiffInput): DiffReport {
  const { a, b } = input;
  const by = input.by ?? 'both';
  const depth = input.depth ?? 3;
  const differs = input.contentDiffers ?? ((x, y) => x.size !== y.size);
  const removed = tally();
  const added = tally();
  const changed = { ...tally(), bytesBefore: 0 };
  const changedBefore = tally();
  const unchanged = tally();
  const groups = new Map<string, DirDiff>();
  const count = new Counter();
  const group = (p: ImagePath): DirDiff => {
    const key = dirAtDepth(p, depth);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { path: displayPath(key), removed: tally(), added: tally(), kept: tally() }));
    return g;
  };

  for (const ea of a.index.values()) {
    if (ea.path === '/') continue;
    const eb = b.index.get(ea.path);
    if (!eb) {
      count.add(removed, ea);
      count.add(group(ea.path).removed, ea);
      continue;
    }
    count.add(group(ea.path).kept, ea);
    if (isChanged(ea, eb, differs)) {
      count.add(changed, eb);
      count.add(changedBefore, ea);
    } else count.add(unchanged, ea);
  }
  for (const eb of b.index.values()) {
    if (eb.path === '/' || a.index.has(eb.path)) continue;
    count.add(added, eb);
    count.add(group(eb.path).added, eb);
  }
  changed.bytesBefore = changedBefore.bytes;

  const sa = a.index.stats();
  const sb = b.index.stats();
  return {
    schema: 'slim.diff/v1',
    a: { ref: a.ref, id: a.id, bytes: sa.bytes, files: sa.files, entries: sa.entries },
    b: { ref: b.ref, id: b.id, bytes: sb.bytes, files: sb.files, entries: sb.entries },
    removed,
    added,
    changed,
    unchanged,
    ...(by !== 'package'
      ? {
          dirs: {
            depth,
            groups: [...groups.values()]
              .filter((g) => g.removed.entries + g.added.entries > 0)
              .sort((x, y) => y.removed.bytes + y.added.bytes - (x.removed.bytes + x.added.bytes) || y.removed.entries + y.added.entries - (x.removed.entries + x.added.entries) || (x.path < y.path ? -1 : 1)),
          },
        }
      : {}),
    ...(by !== 'dir' ? { packages: byPackage(a.index, a.packages, b.index) } : {}),
  };
}

function isChanged(ea: FileEntry, eb: FileEntry, differs: NonNullable<DiffInput['contentDiffers']>): boolean {
  if (ea.kind !== eb.kind || ea.meta.mode !== eb.meta.mode) return true;
  if (ea.kind === 'file' && eb.kind === 'file') return differs(ea, eb);
  if (ea.kind === 'symlink' && eb.kind === 'symlink') return ea.target !== eb.target;
  return false;
}

/** The directory holding p, cut to `depth` components: /usr/share/doc/x/y → /usr/share/doc. */
export function dirAtDepth(p: ImagePath, depth: number): ImagePath {
  const parts = p.split('/').slice(1, -1).slice(0, depth);
  return '/' + parts.join('/');
}

/**
 * Every file of A (regular files and symlinks; directories belong to many packages) under the
 * package that owns it, kept when B still has the path. A file listed by several packages
 * counts for the first one by name, so that bytes add up to A's total.
 */
export function byPackage(a: FileIndex, packages: PackageFiles, b: FileIndex): PackageDiff[] {
  const owners = ownersByRealPath(a, packages);
  const rows = new Map<string, PackageDiff>();
  const seen = new Set<number>();
  for (const e of a.values()) {
    if (e.kind !== 'file' && e.kind !== 'symlink') continue;
    const name = [...(owners.get(e.path) ?? [])].sort()[0] ?? NO_PACKAGE;
    let r = rows.get(name);
    if (!r) rows.set(name, (r = { name, files: 0, filesKept: 0, filesRemoved: 0, bytes: 0, bytesKept: 0, bytesRemoved: 0, keptFraction: 0 }));
    const kept = b.has(e.path);
    const bytes = e.kind === 'file' && !seen.has(e.inode) ? e.size : 0;
    if (e.kind === 'file') seen.add(e.inode);
    r.files++;
    r.bytes += bytes;
    if (kept) {
      r.filesKept++;
      r.bytesKept += bytes;
    } else {
      r.filesRemoved++;
      r.bytesRemoved += bytes;
    }
  }
  for (const r of rows.values()) r.keptFraction = r.bytes > 0 ? r.bytesKept / r.bytes : r.files > 0 ? r.filesKept / r.files : 1;
  return [...rows.values()].sort((x, y) => y.bytesRemoved - x.bytesRemoved || y.bytes - x.bytes || (x.name < y.name ? -1 : 1));
}
