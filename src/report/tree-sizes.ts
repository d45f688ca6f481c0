import { displayPath, type ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { ownersByRealPath } from '../packages/owners.js';
import type { PackageFiles } from '../packages/types.js';

/**
 * A directory of the original image with the bytes below it, kept in the slim image and removed.
 * Children add up to their parent exactly: the files directly in a directory are one child
 * (`files`), and directories too small to draw are lumped into one (`other`).
 */
export interface SizeNode {
  /** The directory's path; `DIR/*` for its own files, `DIR/…` for its lumped small directories. */
  path: string;
  kind: 'dir' | 'files' | 'other';
  kept: number;
  removed: number;
  /** Absent for a leaf: the files, the lump, a directory at the depth limit or with only files. */
  children?: SizeNode[];
}

export interface PackageSize {
  name: string;
  kept: number;
  removed: number;
}

/** The original's bytes by directory and by package, kept and removed: what `--html` draws as treemaps. */
export interface TreeSizes {
  depth: number;
  dirs: SizeNode;
  /** By the package owning each file (`(no package)` for the rest); null when the image has no package database. */
  packages: PackageSize[] | null;
}

export const NO_PACKAGE = '(no package)';

export interface TreeOptions {
  /** Directory levels below the root (default 3: /usr/share/doc). */
  depth?: number;
  /** A directory with less than this share of the image's bytes goes into its parent's lump (default 0.002). */
  minShare?: number;
  /** At most this many children per directory, the lump included (default 24). */
  maxChildren?: number;
  /** At most this many packages, the rest as one (default 40). */
  maxPackages?: number;
}

interface Acc {
  kept: number;
  removed: number;
  ownKept: number;
  ownRemoved: number;
  dirs: Map<string, Acc>;
}

const acc = (): Acc => ({ kept: 0, removed: 0, ownKept: 0, ownRemoved: 0, dirs: new Map() });

/**
 * Each regular file once with the path it is counted at: a file with several hard links counts at
 * a kept link when one is kept (its bytes are in the slim image), else at its first link.
 */
function uniqueFiles(index: FileIndex, kept: { has(p: ImagePath): boolean }): { path: ImagePath; size: number; kept: boolean }[] {
  const keptInodes = new Set<number>();
  for (const e of index.values()) if (e.kind === 'file' && kept.has(e.path)) keptInodes.add(e.inode);
  const counted = new Set<number>();
  const out: { path: ImagePath; size: number; kept: boolean }[] = [];
  for (const e of index.sorted()) {
    if (e.kind !== 'file' || counted.has(e.inode)) continue;
    const isKept = keptInodes.has(e.inode);
    if (isKept && !kept.has(e.path)) continue;
    counted.add(e.inode);
    out.push({ path: e.path, size: e.size, kept: isKept });
  }
  return out;
}

/** The original's directories to `depth`, with their kept and removed bytes. Pure over the index and what the slim image keeps. */
export function treeSizes(index: FileIndex, kept: { has(p: ImagePath): boolean }, packages: PackageFiles | null, opts: TreeOptions = {}): TreeSizes {
  const depth = opts.depth ?? 3;
  const files = uniqueFiles(index, kept);
  const root = acc();
  for (const f of files) {
    const parts = f.path.split('/').slice(1, -1);
    let node = root;
    const add = (n: Acc, own = false) => {
      n[own ? (f.kept ? 'ownKept' : 'ownRemoved') : f.kept ? 'kept' : 'removed'] += f.size;
    };
    add(node);
    for (const part of parts.slice(0, depth)) {
      let next = node.dirs.get(part);
      if (!next) node.dirs.set(part, (next = acc()));
      node = next;
      add(node);
    }
    if (parts.length < depth) add(node, true);
  }
  const total = root.kept + root.removed;
  const minBytes = total * (opts.minShare ?? 0.002);
  const maxChildren = Math.max(2, opts.maxChildren ?? 24);
  return {
    depth,
    dirs: toNode(root, '/', minBytes, maxChildren),
    packages: packages && packages.size > 0 ? packageSizes(index, files, packages, opts.maxPackages ?? 40) : null,
  };
}

function toNode(a: Acc, path: ImagePath, minBytes: number, maxChildren: number): SizeNode {
  const node: SizeNode = { path: displayPath(path), kind: 'dir', kept: a.kept, removed: a.removed };
  if (a.dirs.size === 0) return node;
  const join = (name: string) => (path === '/' ? '/' + name : `${path}/${name}`);
  const dirs = [...a.dirs]
    .map(([name, d]) => ({ path: join(name), d, bytes: d.kept + d.removed }))
    .sort((x, y) => y.bytes - x.bytes || (x.path < y.path ? -1 : 1));
  const shown = dirs.filter((x, i) => x.bytes > 0 && x.bytes >= minBytes && i < maxChildren - 2);
  const lumped = dirs.slice(shown.length);
  const children = shown.map((x) => toNode(x.d, x.path, minBytes, maxChildren));
  // The suffixes are added after displayPath: it reads its input as bytes, and … is not one.
  const under = path === '/' ? '' : node.path;
  if (a.ownKept + a.ownRemoved > 0) children.push({ path: `${under}/*`, kind: 'files', kept: a.ownKept, removed: a.ownRemoved });
  const lump = lumped.reduce((s, x) => ({ kept: s.kept + x.d.kept, removed: s.removed + x.d.removed }), { kept: 0, removed: 0 });
  if (lump.kept + lump.removed > 0) children.push({ path: `${under}/…`, kind: 'other', ...lump });
  return { ...node, children };
}

/** Each file under the package that owns it in the original: the first by name when several list it, so bytes add up. */
function packageSizes(index: FileIndex, files: { path: ImagePath; size: number; kept: boolean }[], packages: PackageFiles, max: number): PackageSize[] {
  const owners = ownersByRealPath(index, packages);
  const rows = new Map<string, PackageSize>();
  for (const f of files) {
    const name = [...(owners.get(f.path) ?? [])].sort()[0] ?? NO_PACKAGE;
    let r = rows.get(name);
    if (!r) rows.set(name, (r = { name, kept: 0, removed: 0 }));
    if (f.kept) r.kept += f.size;
    else r.removed += f.size;
  }
  const sorted = [...rows.values()].sort((x, y) => y.kept + y.removed - (x.kept + x.removed) || (x.name < y.name ? -1 : 1));
  if (sorted.length <= max) return sorted;
  const rest = sorted.slice(max - 1);
  return [...sorted.slice(0, max - 1), { name: `(${rest.length} more packages)`, kept: rest.reduce((s, r) => s + r.kept, 0), removed: rest.reduce((s, r) => s + r.removed, 0) }];
}
