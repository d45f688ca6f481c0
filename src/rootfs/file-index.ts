import type { FileEntry, ImagePath } from './entry.js';
import { joinInside, parentOf } from './safe-path.js';

/** How a path was reached: every symlink followed on the way, and what it landed on. */
export interface Resolution {
  requested: ImagePath;
  /** The path after all symlinks; for a missing file, the path as far as it resolved plus the rest. */
  real: ImagePath;
  entry?: FileEntry;
  /** Symlinks traversed, in order. */
  links: ImagePath[];
  /** The deepest existing directory on the way (for a missing path: where creation would happen). */
  lastDir: ImagePath;
  loop?: boolean;
}

const MAX_LINKS = 40; // as the kernel's MAXSYMLINKS

/** The flattened filesystem of an image: path → entry, with directory listings. */
export class FileIndex {
  private readonly entries = new Map<ImagePath, FileEntry>();
  private readonly kids = new Map<ImagePath, Set<ImagePath>>();
  private inodes = 0;

  newInode(): number {
    return ++this.inodes;
  }

  get size(): number {
    return this.entries.size;
  }

  get(p: ImagePath): FileEntry | undefined {
    return this.entries.get(p);
  }

  has(p: ImagePath): boolean {
    return this.entries.has(p);
  }

  set(e: FileEntry): void {
    if (e.path !== '/') {
      const parent = parentOf(e.path);
      let set = this.kids.get(parent);
      if (!set) this.kids.set(parent, (set = new Set()));
      set.add(e.path);
    }
    this.entries.set(e.path, e);
  }

  /** Remove p and everything below it that `keep` does not protect. */
  delete(p: ImagePath, keep: (e: FileEntry) => boolean = () => false): void {
    const e = this.entries.get(p);
    for (const child of [...(this.kids.get(p) ?? [])]) this.delete(child, keep);
    if (e && keep(e)) return;
    if ((this.kids.get(p)?.size ?? 0) > 0) return; // a protected child still lives here
    this.entries.delete(p);
    this.kids.delete(p);
    this.kids.get(parentOf(p))?.delete(p);
  }

  children(dir: ImagePath): FileEntry[] {
    const out: FileEntry[] = [];
    for (const c of this.kids.get(dir) ?? []) {
      const e = this.entries.get(c);
      if (e) out.push(e);
    }
    return out;
  }

  /** All entries, sorted by path bytes (parents before children). */
  sorted(): FileEntry[] {
    return [...this.entries.values()].sort((a, b) => compareBytes(a.path, b.path));
  }

  values(): IterableIterator<FileEntry> {
    return this.entries.values();
  }

  /**
   * Resolve a path as the kernel would inside the image's root: symlinks followed (the last one
   * too unless followLast is false), `..` clamped at the root. Never touches the host.
   */
  resolve(p: ImagePath, opts: { followLast?: boolean } = {}): Resolution {
    const followLast = opts.followLast ?? true;
    const links: ImagePath[] = [];
    let pending = p.split('/').filter(Boolean);
    let cur: ImagePath = '/';
    let lastDir: ImagePath = '/';
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        cur = parentOf(cur);
        lastDir = cur;
        continue;
      }
      const next: ImagePath = cur === '/' ? `/${part}` : `${cur}/${part}`;
      const e = this.entries.get(next);
      if (!e) {
        const rest = [part, ...pending].join('/');
        return { requested: p, real: joinInside(cur, rest), links, lastDir };
      }
      const isLast = pending.length === 0;
      if (e.kind === 'symlink' && (!isLast || followLast)) {
        if (++hops > MAX_LINKS) return { requested: p, real: next, links, lastDir, loop: true };
        links.push(next);
        const target = e.target;
        pending = [...target.split('/').filter(Boolean), ...pending];
        if (target.startsWith('/')) cur = '/';
        continue;
      }
      if (!isLast && e.kind !== 'dir') {
        return { requested: p, real: joinInside(next, pending.join('/')), links, lastDir };
      }
      cur = next;
      if (e.kind === 'dir') lastDir = cur;
    }
    const entry = this.entries.get(cur);
    return { requested: p, real: cur, ...(entry ? { entry } : {}), links, lastDir };
  }

  /** Totals for reports. */
  stats(): { files: number; entries: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    const seen = new Set<number>();
    for (const e of this.entries.values()) {
      if (e.kind !== 'file') continue;
      files++;
      if (!seen.has(e.inode)) {
        seen.add(e.inode);
        bytes += e.size;
      }
    }
    return { files, entries: this.entries.size, bytes };
  }
}

export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

