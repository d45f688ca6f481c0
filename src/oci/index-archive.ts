import type { Readable } from 'node:stream';
import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { baseName, joinInside, parentOf } from '../rootfs/safe-path.js';
import type { ContentReader } from '../sources/content-spool.js';
import { tarStream, type TarItem } from '../tar/tar-writer.js';

/**
 * The archive API's answer for a path of an image that is not unpacked: the same tar a
 * container made from it would give, read from the image's index and spool. Undefined when the
 * image has nothing there.
 */
export function indexArchive(index: FileIndex, content: ContentReader, p: ImagePath): Readable | undefined {
  const real = joinInside(index.resolve(parentOf(p)).real, baseName(p));
  const top = p === '/' ? index.get('/') ?? { kind: 'dir' as const, path: '/', meta: { mode: 0o755, uid: 0, gid: 0, mtime: 0, layer: 0 } } : index.get(real);
  if (!top) return undefined;
  const name = p === '/' ? '.' : baseName(real);
  return tarStream(items(index, content, top, name, new Map()));
}

function* items(index: FileIndex, content: ContentReader, e: FileEntry, name: string, inodes: Map<number, string>): Generator<TarItem> {
  const base = { name, mode: e.meta.mode, uid: e.meta.uid, gid: e.meta.gid, mtime: e.meta.mtime, ...(e.meta.xattrs ? { xattrs: e.meta.xattrs } : {}) };
  switch (e.kind) {
    case 'file': {
      const first = inodes.get(e.inode);
      if (first) {
        yield { header: { ...base, type: 'link', linkname: first } };
        return;
      }
      inodes.set(e.inode, name);
      yield { header: { ...base, type: 'file', size: e.size }, body: () => content.stream(e) };
      return;
    }
    case 'symlink':
      yield { header: { ...base, type: 'symlink', linkname: e.target } };
      return;
    case 'fifo':
      yield { header: { ...base, type: 'fifo' } };
      return;
    case 'char':
    case 'block':
      yield { header: { ...base, type: e.kind === 'char' ? 'character-device' : 'block-device', devmajor: e.major, devminor: e.minor } };
      return;
    case 'dir':
      yield { header: { ...base, type: 'directory' } };
      for (const child of index.children(e.path).sort((a, b) => (a.path < b.path ? -1 : 1))) {
        yield* items(index, content, child, `${name}/${baseName(child.path)}`, inodes);
      }
  }
}
