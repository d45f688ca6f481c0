import type { AccessOp, AccessRecord } from './record.js';
import { joinInside } from '../rootfs/safe-path.js';

/**
 * Parser for strace logs written with `-f -y -o FILE` (pid prefix, fd paths decoded), turning
 * file and process calls into AccessRecords. Pure and incremental: logs can be large, so lines
 * are pushed one at a time. Paths are byte strings (latin1); strace's C escapes are decoded.
 */
export interface StraceParseResult {
  records: AccessRecord[];
  skippedLines: number;
}

interface CallShape {
  /** Where the path pairs are: [dirfd index or -1, path index, op]. */
  paths: [number, number, AccessOp | 'by-flags'][];
  flags?: number;
}

const O = (paths: CallShape['paths'], flags?: number): CallShape => ({ paths, ...(flags !== undefined ? { flags } : {}) });
const SHAPES: Record<string, CallShape> = {
  open: O([[-1, 0, 'by-flags']], 1),
  creat: O([[-1, 0, 'create']]),
  openat: O([[0, 1, 'by-flags']], 2),
  openat2: O([[0, 1, 'by-flags']], 2),
  execve: O([[-1, 0, 'exec']]),
  execveat: O([[0, 1, 'exec']]),
  stat: O([[-1, 0, 'stat']]),
  lstat: O([[-1, 0, 'stat']]),
  stat64: O([[-1, 0, 'stat']]),
  lstat64: O([[-1, 0, 'stat']]),
  newfstatat: O([[0, 1, 'stat']]),
  fstatat64: O([[0, 1, 'stat']]),
  statx: O([[0, 1, 'stat']]),
  access: O([[-1, 0, 'access']]),
  faccessat: O([[0, 1, 'access']]),
  faccessat2: O([[0, 1, 'access']]),
  readlink: O([[-1, 0, 'readlink']]),
  readlinkat: O([[0, 1, 'readlink']]),
  chdir: O([[-1, 0, 'chdir']]),
  mkdir: O([[-1, 0, 'create']]),
  mkdirat: O([[0, 1, 'create']]),
  mknod: O([[-1, 0, 'create']]),
  mknodat: O([[0, 1, 'create']]),
  unlink: O([[-1, 0, 'write']]),
  rmdir: O([[-1, 0, 'write']]),
  unlinkat: O([[0, 1, 'write']]),
  rename: O([[-1, 0, 'write'], [-1, 1, 'create']]),
  renameat: O([[0, 1, 'write'], [2, 3, 'create']]),
  renameat2: O([[0, 1, 'write'], [2, 3, 'create']]),
  link: O([[-1, 0, 'open'], [-1, 1, 'create']]),
  linkat: O([[0, 1, 'open'], [2, 3, 'create']]),
  symlink: O([[-1, 1, 'create']]),
  symlinkat: O([[1, 2, 'create']]),
  chmod: O([[-1, 0, 'write']]),
  fchmodat: O([[0, 1, 'write']]),
  chown: O([[-1, 0, 'write']]),
  lchown: O([[-1, 0, 'write']]),
  fchownat: O([[0, 1, 'write']]),
  utimensat: O([[0, 1, 'write']]),
  utimes: O([[-1, 0, 'write']]),
  truncate: O([[-1, 0, 'write']]),
  statfs: O([[-1, 0, 'other']]),
  getxattr: O([[-1, 0, 'other']]),
  lgetxattr: O([[-1, 0, 'other']]),
  listxattr: O([[-1, 0, 'other']]),
  llistxattr: O([[-1, 0, 'other']]),
  inotify_add_watch: O([[-1, 1, 'other']]),
  chroot: O([[-1, 0, 'other']]),
};
const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);

export class StraceParser {
  private readonly cwd = new Map<number, string>();
  private readonly pending = new Map<number, string>();
  private readonly seen = new Set<string>();
  private readonly records: AccessRecord[] = [];
  private skipped = 0;

  constructor(private readonly opts: { cwd: string }) {}

  push(line: string): void {
    if (line.trim() === '') return;
    const m = /^(\d+) +(.*)$/.exec(line);
    if (!m) {
      this.skipped++;
      return;
    }
    const pid = Number(m[1]);
    let rest = m[2]!;
    if (rest.startsWith('+++') || rest.startsWith('---')) return;
    const resumed = /^<\.\.\. [\w]+ resumed>(.*)$/.exec(rest);
    if (resumed) {
      const head = this.pending.get(pid);
      this.pending.delete(pid);
      if (head === undefined) {
        this.skipped++;
        return;
      }
      rest = head + resumed[1];
    }
    if (rest.endsWith(' <unfinished ...>')) {
      this.pending.set(pid, rest.slice(0, -' <unfinished ...>'.length));
      return;
    }
    const call = parseCall(rest);
    if (!call) {
      this.skipped++;
      return;
    }
    this.apply(pid, call);
  }

  finish(): StraceParseResult {
    // An unfinished call at the end of the log (the process was killed mid-call) is lost.
    this.skipped += this.pending.size;
    this.pending.clear();
    return { records: this.records, skippedLines: this.skipped };
  }

  private cwdOf(pid: number): string {
    return this.cwd.get(pid) ?? this.opts.cwd;
  }

  private apply(pid: number, call: ParsedCall): void {
    if (FORKS.has(call.name)) {
      const child = Number(call.ret);
      if (Number.isInteger(child) && child > 0) this.cwd.set(child, this.cwdOf(pid));
      return;
    }
    if (call.name === 'fchdir') {
      const dir = fdPath(call.args[0]);
      if (call.ok && dir) this.cwd.set(pid, dir);
      return;
    }
    const shape = SHAPES[call.name];
    if (!shape) return;
    for (const [dirIdx, pathIdx, how] of shape.paths) {
      const raw = call.args[pathIdx];
      const asked = raw === undefined ? undefined : stringArg(raw);
      if (asked === undefined) continue; // NULL, a pointer, or a string strace cut short
      let base: string | undefined;
      if (asked.startsWith('/')) base = '/';
      else if (dirIdx >= 0) base = fdPath(call.args[dirIdx]) ?? undefined;
      else base = this.cwdOf(pid);
      if (asked === '') continue; // AT_EMPTY_PATH: the call is about the fd, already recorded when opened
      if (base === undefined) continue;
      // Lexical: the path the process asked for, not what the kernel resolved.
      const path = joinInside(base, asked);
      const op: AccessOp = how === 'by-flags' ? opFromFlags(call.args[shape.flags!] ?? '') : how;
      if (call.name === 'chdir' && call.ok) this.cwd.set(pid, path);
      const resolved = call.ok && how === 'by-flags' ? fdPath(call.retDecor) : undefined;
      this.add({ pid, op, path, ...(resolved && resolved !== path ? { resolved } : {}), ok: call.ok, ...(call.err ? { err: call.err } : {}), via: 'strace' });
    }
  }

  private add(r: AccessRecord): void {
    const key = `${r.op}\0${r.path}\0${r.ok ? 1 : 0}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.records.push(r);
  }
}

export function parseStraceLog(text: string, opts: { cwd: string }): StraceParseResult {
  const p = new StraceParser(opts);
  for (const line of text.split('\n')) p.push(line);
  return p.finish();
}

interface ParsedCall {
  name: string;
  args: string[];
  ret: string;
  retDecor: string | undefined;
  ok: boolean;
  err?: string;
}

/** `name(arg, arg, ...) = ret[<decor>] [ERRNO (text)]`, with strings and nesting respected. */
export function parseCall(s: string): ParsedCall | undefined {
  const open = s.indexOf('(');
  if (open <= 0) return undefined;
  const name = s.slice(0, open);
  if (!/^[a-z_0-9]+$/.test(name)) return undefined;
  const args: string[] = [];
  let i = open + 1;
  let depth = 0;
  let start = i;
  let closed = -1;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '"') {
      i = skipString(s, i);
      if (i < 0) return undefined;
      continue;
    }
    if (ch === '<' && /(\d|AT_FDCWD)$/.test(s.slice(Math.max(start, i - 8), i))) {
      const end = s.indexOf('>', i);
      if (end < 0) return undefined;
      i = end + 1;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0 && ch === ')') {
        closed = i;
        break;
      }
      depth--;
    } else if (ch === ',' && depth === 0) {
      args.push(s.slice(start, i).trim());
      start = i + 1;
    }
    i++;
  }
  if (closed < 0) return undefined;
  const last = s.slice(start, closed).trim();
  if (last !== '' || args.length > 0) args.push(last);
  const tail = /^\s*=\s*(-?\d+|\?|0x[0-9a-f]+)(<[^]*?>)?(?:\s+([A-Z][A-Z0-9_]+)\b.*)?$/.exec(s.slice(closed + 1));
  if (!tail) return undefined;
  const ret = tail[1]!;
  const ok = ret !== '-1' && ret !== '?';
  return { name, args, ret, retDecor: tail[2], ok: ret === '?' ? true : ok, ...(ret === '-1' && tail[3] ? { err: tail[3] } : {}) };
}

function skipString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    if (s[i] === '\\') i += 2;
    else if (s[i] === '"') return s.startsWith('...', i + 1) ? i + 4 : i + 1;
    else i++;
  }
  return -1;
}

/** A quoted strace string as a byte string; undefined for NULL, pointers and truncated strings. */
export function stringArg(arg: string): string | undefined {
  if (!arg.startsWith('"')) return undefined;
  if (arg.endsWith('"...')) return undefined;
  if (!arg.endsWith('"') || arg.length < 2) return undefined;
  return unescape(arg.slice(1, -1));
}

const SIMPLE: Record<string, string> = { n: '\n', t: '\t', v: '\v', f: '\f', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b' };

export function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[i + 1] ?? '';
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (/[0-7]/.test(next)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(m, 8) & 0xff);
      i += m.length;
    } else if (next in SIMPLE) {
      out += SIMPLE[next];
      i += 1;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The path strace's -y prints after an fd (`3</usr/lib>`, `AT_FDCWD</app>`); not sockets or pipes. */
export function fdPath(arg: string | undefined): string | undefined {
  if (!arg) return undefined;
  const m = /^(?:\d+|AT_FDCWD)?<([^]*)>$/.exec(arg);
  if (!m) return undefined;
  let p = unescape(m[1]!);
  if (p.endsWith(' (deleted)')) p = p.slice(0, -' (deleted)'.length);
  return p.startsWith('/') ? p : undefined;
}

function opFromFlags(flags: string): AccessOp {
  if (flags.includes('O_DIRECTORY')) return 'list';
  if (flags.includes('O_CREAT')) return 'create';
  if (/O_WRONLY|O_RDWR/.test(flags)) return 'write';
  return 'open';
}
