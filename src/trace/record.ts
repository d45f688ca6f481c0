/**
 * One observed file access, in the single format both probes produce (JSON Lines, one record per line).
 * Paths are byte strings (one character per byte, latin1), so names that are not UTF-8 survive.
 */
export type AccessOp = 'open' | 'exec' | 'stat' | 'access' | 'readlink' | 'list' | 'create' | 'write' | 'chdir' | 'other';

export interface AccessRecord {
  pid: number;
  op: AccessOp;
  /** Absolute path as the program asked for it (relative paths made absolute against the process's cwd). */
  path: string;
  /** Path after the kernel resolved symlinks, when the backend knows it (fanotify always does). */
  resolved?: string;
  ok: boolean;
  /** errno name when !ok, e.g. "ENOENT". */
  err?: string;
  via: 'fanotify' | 'strace';
}
