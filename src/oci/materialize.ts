import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, symlink, utimes } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';

const run = promisify(execFile);

/** A host path for an image path under `root`, byte for byte (image paths are latin1 byte strings). */
export function hostPath(root: string, p: ImagePath): Buffer {
  return Buffer.concat([Buffer.from(root), Buffer.from(p === '/' ? '' : p, 'latin1')]);
}

/** What could not be made as the image has it (device nodes need a tool; xattrs need one too). */
export interface Materialized {
  entries: number;
  skipped: string[];
}

/**
 * Write the entries of an image at and below `from` into the empty directory `root` (`from`
 * itself becomes `root`), as an engine unpacks a rootfs: owners, modes, times, hard links kept.
 * Only paths of the index are made, each below a directory made before it, so nothing the image
 * holds (a symlink to /etc on the host) is ever followed on the host.
 */
export async function materialize(index: FileIndex, content: ContentReader, root: string, from: ImagePath = '/', signal?: AbortSignal): Promise<Materialized> {
  const under = (p: ImagePath) => from === '/' || p === from || p.startsWith(`${from}/`);
  const rel = (p: ImagePath) => (from === '/' ? p : p.slice(from.length) || '/');
  const entries = index.sorted().filter((e) => under(e.path));
  const dirs = entries.filter((e) => e.kind === 'dir');
  for (const d of dirs) await mkdir(hostPath(root, rel(d.path)), { recursive: true });
  const firstOfInode = new Map<number, Promise<Buffer>>();
  const skipped: string[] = [];
  const others = entries.filter((e) => e.kind !== 'dir');
  for (let i = 0; i < others.length; i += 32) {
    signal?.throwIfAborted();
    await Promise.all(others.slice(i, i + 32).map((e) => make(e, hostPath(root, rel(e.path)), content, firstOfInode, skipped)));
  }
  // Directory owners, modes and times last, deepest first: writing into a directory changes its mtime.
  for (const d of dirs.reverse()) await setMeta(hostPath(root, rel(d.path)), d);
  return { entries: entries.length, skipped };
}

async function make(e: FileEntry, at: Buffer, content: ContentReader, firstOfInode: Map<number, Promise<Buffer>>, skipped: string[]): Promise<void> {
  switch (e.kind) {
    case 'file': {
      const first = firstOfInode.get(e.inode);
      // A hard link waits for the file it links to, which may be written in the same batch.
      if (first) return link(await first, at);
      const written = (async () => {
        await pipeline(content.stream(e), createWriteStream(at, { flags: 'wx', mode: 0o600 }));
        await setMeta(at, e);
        return at;
      })();
      firstOfInode.set(e.inode, written);
      await written;
      return;
    }
    case 'symlink':
      await symlink(Buffer.from(e.target, 'latin1'), at);
      await lchown(at, e.meta.uid, e.meta.gid);
      await lutimes(at, e.meta.mtime, e.meta.mtime);
      return;
    case 'fifo':
    case 'char':
    case 'block': {
      const args = e.kind === 'fifo' ? [at.toString('latin1'), 'p'] : [at.toString('latin1'), e.kind === 'char' ? 'c' : 'b', String(e.major), String(e.minor)];
      await run('mknod', args).then(() => setMeta(at, e), () => void skipped.push(e.path));
      return;
    }
    case 'dir':
      return;
  }
}

async function setMeta(at: Buffer, e: FileEntry): Promise<void> {
  await lchown(at, e.meta.uid, e.meta.gid);
  // After chown, which clears setuid and setgid bits.
  await chmod(at, e.meta.mode);
  await utimes(at, e.meta.mtime, e.meta.mtime);
}
