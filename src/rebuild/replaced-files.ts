import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FileIndex } from '../rootfs/file-index.js';
import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { ContentReader } from '../sources/content-spool.js';
import { InternalError } from '../errors.js';

/** A rebuilt file: its path in the image and where its new bytes are on this machine. */
export interface Replacement {
  path: ImagePath;
  hostFile: string;
  size: number;
}

type File = FileEntry & { kind: 'file' };

/**
 * The image's files with some regular files' bytes replaced (owner, mode and time kept): a copy
 * of the index, and a reader that takes those files from the host and the rest from the image.
 */
export function withReplacedFiles(index: FileIndex, content: ContentReader, replacements: readonly Replacement[]): { index: FileIndex; content: ContentReader } {
  const byPath = new Map(replacements.map((r) => [r.path, r]));
  const copy = new FileIndex();
  let inode = 0;
  for (const e of index.values()) if (e.kind === 'file') inode = Math.max(inode, e.inode);
  for (const e of index.values()) {
    const r = byPath.get(e.path);
    if (!r) {
      copy.set(e);
      continue;
    }
    if (e.kind !== 'file') throw new InternalError(`${e.path} is a ${e.kind}, not a file to replace`);
    // An inode of its own: a hard link to the old bytes keeps them.
    copy.set({ ...e, inode: ++inode, size: r.size, at: { layer: e.at.layer, offset: 0, size: r.size } });
  }
  for (const r of replacements) if (!index.has(r.path)) throw new InternalError(`${r.path} is not in the image`);
  const replacedInodes = new Map<number, Replacement>();
  for (const r of replacements) {
    const e = copy.get(r.path);
    if (e?.kind === 'file') replacedInodes.set(e.inode, r);
  }
  const from = (e: File) => replacedInodes.get(e.inode);
  return {
    index: copy,
    content: {
      async read(e, range) {
        const r = from(e);
        if (!r) return content.read(e, range);
        const start = range?.start ?? 0;
        const length = Math.max(0, Math.min(range?.length ?? r.size, r.size - start));
        const fh = await open(r.hostFile, 'r');
        try {
          const buf = Buffer.alloc(length);
          const { bytesRead } = await fh.read(buf, 0, length, start);
          return buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      },
      stream(e): Readable {
        const r = from(e);
        return r ? createReadStream(r.hostFile) : content.stream(e);
      },
    },
  };
}
