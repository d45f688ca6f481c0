import type { AccessOp } from './record.js';

/** Where a call's paths are: dirfd argument (-1: none, relative to the cwd), path argument, op. */
export type PathSlot = readonly [dirArg: number, pathArg: number, op: AccessOp | 'by-flags'];

const one = (dir: number, path: number, op: PathSlot[2]): PathSlot[] => [[dir, path, op]];
export const CALLS: Record<string, PathSlot[]> = {
  open: one(-1, 0, 'by-flags'),
  openat: one(0, 1, 'by-flags'),
  openat2: one(0, 1, 'by-flags'),
  creat: one(-1, 0, 'create'),
  uselib: one(-1, 0, 'open'),
  execve: one(-1, 0, 'exec'),
  execveat: one(0, 1, 'exec'),
  stat: one(-1, 0, 'stat'),
  lstat: one(-1, 0, 'stat'),
  stat64: one(-1, 0, 'stat'),
  lstat64: one(-1, 0, 'stat'),
  newfstatat: one(0, 1, 'stat'),
  fstatat64: one(0, 1, 'stat'),
  statx: one(0, 1, 'stat'),
  access: one(-1, 0, 'access'),
  faccessat: one(0, 1, 'access'),
  faccessat2: one(0, 1, 'access'),
  readlink: one(-1, 0, 'readlink'),
  readlinkat: one(0, 1, 'readlink'),
  chdir: one(-1, 0, 'chdir'),
  mkdir: one(-1, 0, 'create'),
  mkdirat: one(0, 1, 'create'),
  mknod: one(-1, 0, 'create'),
  mknodat: one(0, 1, 'create'),
  unlink: one(-1, 0, 'write'),
  unlinkat: one(0, 1, 'write'),
  rmdir: one(-1, 0, 'write'),
  rename: [[-1, 0, 'write'], [-1, 1, 'create']],
  renameat: [[0, 1, 'write'], [2, 3, 'create']],
  renameat2: [[0, 1, 'write'], [2, 3, 'create']],
  link: [[-1, 0, 'other'], [-1, 1, 'create']],
  linkat: [[0, 1, 'other'], [2, 3, 'create']],
  // The target of a symlink is a string stored in the link, not a path that is looked up.
  symlink: one(-1, 1, 'create'),
  symlinkat: one(1, 2, 'create'),
  chmod: one(-1, 0, 'write'),
  fchmodat: one(0, 1, 'write'),
  fchmodat2: one(0, 1, 'write'),
  chown: one(-1, 0, 'write'),
  lchown: one(-1, 0, 'write'),
  chown32: one(-1, 0, 'write'),
  lchown32: one(-1, 0, 'write'),
  fchownat: one(0, 1, 'write'),
  utime: one(-1, 0, 'write'),
  utimes: one(-1, 0, 'write'),
  futimesat: one(0, 1, 'write'),
  utimensat: one(0, 1, 'write'),
  truncate: one(-1, 0, 'write'),
  truncate64: one(-1, 0, 'write'),
  setxattr: one(-1, 0, 'write'),
  lsetxattr: one(-1, 0, 'write'),
  removexattr: one(-1, 0, 'write'),
  lremovexattr: one(-1, 0, 'write'),
  getxattr: one(-1, 0, 'other'),
  lgetxattr: one(-1, 0, 'other'),
  listxattr: one(-1, 0, 'other'),
  llistxattr: one(-1, 0, 'other'),
  statfs: one(-1, 0, 'other'),
  statfs64: one(-1, 0, 'other'),
  inotify_add_watch: one(-1, 1, 'other'),
  name_to_handle_at: one(0, 1, 'other'),
  chroot: one(-1, 0, 'other'),
};
export const FORKS = new Set(['clone', 'clone2', 'clone3', 'fork', 'vfork']);
export const EXECS = new Set(['execve', 'execveat']);

/** Does a clone's argument text give the child the parent's fs context (cwd) itself, not a copy? */
export function sharesFs(text: string): boolean {
  const flags = /\bflags=([A-Z0-9_|]+)/.exec(text);
  return flags !== null && flags[1]!.split('|').includes('CLONE_FS');
}

/** open's flags (`O_RDONLY|O_CLOEXEC`, or openat2's `{flags=…, resolve=…}`) to the op. */
export function opFromFlags(flags: string): AccessOp {
  if (flags.includes('O_CREAT')) return 'create';
  if (/\bO_(?:WRONLY|RDWR|TRUNC)\b/.test(flags)) return 'write';
  return 'open';
}
