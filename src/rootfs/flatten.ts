import { UnsafeImageError } from '../errors.js';
import type { ContentLocator, FileEntry, ImagePath, Meta } from './entry.js';
import { FileIndex } from './file-index.js';
import { baseName, cleanEntryName, joinInside, parentOf } from './safe-path.js';

/** One tar header of a layer, as read (names are byte strings), with where its bytes were spooled. */
export interface TarEntry {
  name: string;
  type: 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo' | 'other';
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  xattrs?: Record<string, string>;
  at?: ContentLocator;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Apply one layer on top of the index, as an overlay filesystem would. Layers must come base
 * first. Whiteouts and opaque markers hide only what lower layers put there, never entries of
 * the same layer, whatever their order in the tar (OCI image spec, "Whiteouts").
 */
export function applyLayer(index: FileIndex, layer: number, entries: Iterable<TarEntry>): void {
  const lower = (e: FileEntry) => e.meta.layer < layer;
  const fromThisLayer = (e: FileEntry) => e.meta.layer === layer;
  for (const t of entries) {
    const raw = cleanEntryName(t.name);
    const dir = placeParent(index, parentOf(raw), t.name);
    const name = baseName(raw);
    if (name === OPAQUE) {
      for (const child of index.children(dir)) index.delete(child.path, fromThisLayer);
      continue;
    }
    if (name.startsWith(WHITEOUT)) {
      const hidden = joinInside(dir, name.slice(WHITEOUT.length));
      const victim = index.get(hidden);
      if (victim && lower(victim)) index.delete(hidden, fromThisLayer);
      continue;
    }
    const path: ImagePath = raw === '/' ? '/' : joinInside(dir, name);
    const meta: Meta = {
      mode: t.mode & 0o7777,
      uid: t.uid,
      gid: t.gid,
      mtime: t.mtime,
      layer,
      ...(t.uname ? { uname: t.uname } : {}),
      ...(t.gname ? { gname: t.gname } : {}),
      ...(t.xattrs && Object.keys(t.xattrs).length > 0 ? { xattrs: t.xattrs } : {}),
    };
    const existing = index.get(path);
    const entry = toEntry(index, t, path, meta);
    if (existing && (existing.kind !== 'dir' || entry.kind !== 'dir')) {
      // A type change (or a replaced file) drops what was below; a dir over a dir merges.
      index.delete(path, (e) => e !== existing && fromThisLayer(e));
    }
    index.set(entry);
  }
}

/** Parents are resolved through symlinks inside the image, as Docker's applier does; never on the host. */
function placeParent(index: FileIndex, dir: ImagePath, rawName: string): ImagePath {
  if (dir === '/') return '/';
  const r = index.resolve(dir);
  if (r.loop) throw new UnsafeImageError(`entry "${rawName}" goes through a symlink loop`);
  if (r.entry && r.entry.kind !== 'dir') {
    throw new UnsafeImageError(`entry "${rawName}" is placed below "${r.real}", which is not a directory`);
  }
  return r.real;
}

function toEntry(index: FileIndex, t: TarEntry, path: ImagePath, meta: Meta): FileEntry {
  switch (t.type) {
    case 'file':
      if (!t.at) throw new UnsafeImageError(`file entry "${t.name}" has no content`);
      return { kind: 'file', path, meta, inode: index.newInode(), size: t.size, at: t.at };
    case 'directory':
      return { kind: 'dir', path, meta };
    case 'symlink':
      return { kind: 'symlink', path, meta, target: t.linkname ?? '' };
    case 'fifo':
      return { kind: 'fifo', path, meta };
    case 'character-device':
    case 'block-device':
      return { kind: t.type === 'character-device' ? 'char' : 'block', path, meta, major: t.devmajor ?? 0, minor: t.devminor ?? 0 };
    case 'link': {
      const targetPath = cleanEntryName(t.linkname ?? '', 'hard link target');
      const target = index.get(targetPath) ?? index.get(joinInside(index.resolve(parentOf(targetPath)).real, baseName(targetPath)));
      if (!target || target.kind !== 'file') {
        throw new UnsafeImageError(`hard link "${t.name}" points at "${t.linkname}", which is not a file in the image`);
      }
      // A hard link shares the inode and bytes it points at now; its own header's metadata is the inode's.
      return { kind: 'file', path, meta: { ...target.meta, layer: meta.layer }, inode: target.inode, size: target.size, at: target.at };
    }
    default:
      throw new UnsafeImageError(`entry "${t.name}" has an unsupported type`);
  }
}

export function flatten(layers: Iterable<TarEntry>[]): FileIndex {
  const index = new FileIndex();
  layers.forEach((entries, i) => applyLayer(index, i, entries));
  return index;
}
