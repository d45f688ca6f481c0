import { constants } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, readdir, readlink, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { SlimError } from '../errors.js';

/**
 * Copy a directory tree (or one file) as `cp -a` does: owners, modes (setuid bits included) and
 * times kept, symlinks copied as links and never followed, hard links as separate files. The tree
 * is untrusted (a container wrote it): nothing is read through a symlink, and `dest` must not exist.
 * Sockets are left out (a copy of one means nothing); FIFOs and devices are an error.
 */
export async function copyTree(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const copy = async (from: Path, to: Path): Promise<void> => {
    signal?.throwIfAborted();
    const st = await lstat(from);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(from, { encoding: 'buffer' }), to);
      await keepOwner(to, st, asRoot);
      await lutimes(to, st.atimeMs / 1000, st.mtimeMs / 1000);
      return;
    }
    if (st.isDirectory()) {
      await mkdir(to, { mode: 0o700 });
      for (const name of await readdir(from, { encoding: 'buffer' })) {
        await copy(joinName(from, name), joinName(to, name));
      }
      await finish(to, st, asRoot);
      return;
    }
    if (st.isFile()) {
      await copyFileNoFollow(from, to, st);
      await finish(to, st, asRoot);
      return;
    }
    if (st.isSocket()) return;
    throw new SlimError(`cannot copy ${String(from)}: a ${st.isFIFO() ? 'FIFO' : 'device'} is not copied`, { code: 'COPY_SPECIAL_FILE', hint: 'remove it from the mounted directory' });
  };
  await copy(src, dest);
}

/** Owner first (chown clears setuid bits), then the mode, then the times. */
async function finish(path: Path, st: Stats, asRoot: boolean): Promise<void> {
  await keepOwner(path, st, asRoot);
  await chmod(path, st.mode & 0o7777);
  await utimes(path, st.atimeMs / 1000, st.mtimeMs / 1000);
}

async function keepOwner(path: Path, st: Stats, asRoot: boolean): Promise<void> {
  try {
    await lchown(path, st.uid, st.gid);
  } catch (err) {
    // Not root: the copy is owned by whoever runs slim, as `cp -a` does then.
    if (asRoot || (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/** Read the file without following a symlink swapped in after lstat, and without blocking on a FIFO. */
async function copyFileNoFollow(from: Path, to: Path, st: Stats): Promise<void> {
  const input = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const now = await input.stat();
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw new SlimError(`${String(from)} changed while it was copied`, { code: 'COPY_RACE' });
    const output = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = (await input.read(buf, 0, buf.length, null)).bytesRead) > 0; ) await output.write(buf, 0, n);
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** A path as a string, or as bytes where a name is not valid UTF-8 (so that no name is mangled). */
type Path = string | Buffer;

function joinName(dir: Path, name: Buffer): Path {
  const text = name.toString();
  if (typeof dir === 'string' && Buffer.from(text).equals(name)) return join(dir, text);
  return Buffer.concat([Buffer.from(dir), Buffer.from('/'), name]);
}
