import { joinInside } from '../rootfs/safe-path.js';
import type { AccessOp, AccessRecord } from './record.js';

/**
 * Parser for the raw log of
 *   strace -f --seccomp-bpf -qq -y -e trace=%file,%process,fchdir,getdents,getdents64 -o RAW -- CMD...
 * (strace 6.1: every line starts with the pid; -y decorates fds with their paths, `3</usr/lib>`,
 * `AT_FDCWD</app>`), turning file calls into AccessRecords. Pure and incremental: a log can be
 * hundreds of MB, so lines are pushed one at a time and only small per-process state is kept.
 *
 * Everything is a byte string (one character per byte, latin1): feed lines decoded as latin1 and
 * strace's C escapes (`\"`, `\\`, `\n`, `\351`, `\x41`, …) decode to the bytes they stand for.
 *
 * Paths are made absolute lexically (`.`, `..` and repeated slashes folded, `..` stops at `/`):
 * relative to the dirfd's -y path for *at calls, else to the process's cwd, which is tracked
 * per process (chdir, fchdir, getcwd, and the cwd -y prints for AT_FDCWD; children get a copy at
 * fork time, or share it with CLONE_FS, as threads do). The kernel's answer is not known except for
 * successful opens, whose returned fd -y decorates with the path after symlinks: that becomes
 * `resolved` when it differs from `path`.
 *
 * Each distinct (op, path, resolved, ok, err) is recorded once, with the pid that did it first.
 */
export interface StraceParseResult {
  records: AccessRecord[];
  /** Lines that are not strace output, cut short, or calls that never completed. */
  skippedLines: number;
}

export interface StraceParserOptions {
  /** Initial cwd of the first process (the container's WorkingDir), default `/`. */
  cwd?: string;
}

/** Where a call's paths are: dirfd argument (-1: none, relative to the cwd), path argument, op. */
type PathSlot = readonly [dirArg: number, pathArg: number, op: AccessOp | 'by-flags'];

const one = (dir: number, path: number, op: PathSlot[2]): PathSlot[] => [[dir, path, op]];
const CALLS: Record<string, PathSlot[]> = {
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
const FORKS = new Set(['clone', 'clone2', 'clone3', 'fork', 'vfork']);
const EXECS = new Set(['execve', 'execveat']);

const UNFINISHED = ' <unfinished ...>';

/** A process's filesystem context; threads created with CLONE_FS share one object. */
interface Fs {
  cwd: string;
}
interface Proc {
  fs: Fs;
  /** Set while the process was given its parent's cwd before the parent's fork call returned. */
  adoptedFrom?: number;
  /** It learnt or set its own cwd since (chdir, fchdir, getcwd, an AT_FDCWD decoration). */
  ownCwd: boolean;
}

export class StraceParser {
  private readonly initialCwd: string;
  private readonly procs = new Map<number, Proc>();
  /** The start of a call printed with `<unfinished ...>`, per pid, until its `<... resumed>`. */
  private readonly pending = new Map<number, string>();
  /** An execve by a non-leader thread, keyed by the pid it continues under (`<pid changed to N ...>`). */
  private readonly pendingExec = new Map<number, string>();
  private readonly seen = new Set<string>();
  private readonly records: AccessRecord[] = [];
  private skipped = 0;

  constructor(opts: StraceParserOptions = {}) {
    this.initialCwd = joinInside('/', opts.cwd ?? '/');
  }

  /**
   * One line of the log, without its newline. `terminated: false` says the line had no newline
   * (the last line of a log strace did not finish writing): it is counted as skipped, unread.
   */
  push(line: string, terminated = true): void {
    if (line === '' || /^[ \t\r]*$/.test(line)) return;
    // `PID  rest`
    let i = 0;
    while (i < line.length && isDigit(line.charCodeAt(i))) i++;
    const digits = i;
    while (i < line.length && line.charCodeAt(i) === C_SPACE) i++;
    if (!terminated || digits === 0 || digits > 10 || i === digits || i === line.length) {
      this.skipped++;
      return;
    }
    const pid = Number(line.slice(0, digits));
    let rest = line.slice(i);
    if (rest.startsWith('+++ ')) return this.lifecycle(pid, rest);
    if (rest.startsWith('--- ')) return; // signals, stops
    let joined = false;
    let execPidChanged = false;
    if (rest.startsWith('<... ')) {
      const r = /^<\.\.\. ([A-Za-z0-9_]+) resumed>(.*)$/s.exec(rest);
      if (!r) {
        this.skipped++;
        return;
      }
      const name = r[1]!;
      let body = r[2]!;
      // A process that died inside the call: `<... wait4 resumed> <unfinished ...>) = ?`
      if (body.startsWith(UNFINISHED)) body = body.slice(UNFINISHED.length);
      let head: string | undefined;
      if (EXECS.has(name) && this.pendingExec.has(pid)) {
        head = this.pendingExec.get(pid);
        this.pendingExec.delete(pid);
        execPidChanged = true;
      } else {
        head = this.pending.get(pid);
        if (head === undefined || callName(head) !== name) {
          this.skipped++;
          return;
        }
        this.pending.delete(pid);
      }
      rest = head + body;
      joined = true;
    }
    if (rest.endsWith(UNFINISHED)) {
      if (this.pending.has(pid)) this.skipped++; // the earlier one never resumed
      this.pending.set(pid, rest.slice(0, -UNFINISHED.length));
      return;
    }
    const changed = rest.endsWith(' ...>') ? / <pid changed to (\d+) \.\.\.>$/.exec(rest) : null;
    if (changed) {
      // execve by a thread other than the leader: it resumes as the leader's pid.
      this.pendingExec.set(Number(changed[1]), rest.slice(0, changed.index));
      this.adoptFs(Number(changed[1]), pid);
      return;
    }
    const call = parseCall(rest);
    if (!call) {
      this.skipped++;
      return;
    }
    // Only a pid change shows that the exec succeeded: strace 6.1 then prints a bogus return value.
    if (execPidChanged) {
      call.ret = '0';
      delete call.err;
    }
    this.apply(pid, call, joined);
  }

  /** The records so far; calls still unfinished are counted as skipped. Push nothing after this. */
  finish(): StraceParseResult {
    this.skipped += this.pending.size + this.pendingExec.size;
    this.pending.clear();
    this.pendingExec.clear();
    return { records: this.records, skippedLines: this.skipped };
  }

  private lifecycle(pid: number, rest: string): void {
    const sup = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/.exec(rest);
    if (sup) {
      // Older strace: the thread's execve was left unfinished under the thread's own pid.
      const tid = Number(sup[1]);
      const head = this.pending.get(tid);
      if (head !== undefined && EXECS.has(callName(head))) {
        this.pending.delete(tid);
        this.pendingExec.set(pid, head);
      }
      this.adoptFs(pid, tid);
      return;
    }
    if (/^\+\+\+ (?:exited with -?\d+|killed by \w+(?: \(core dumped\))?) \+\+\+$/.test(rest)) {
      this.exited(pid);
      return;
    }
    this.skipped++;
  }

  private exited(pid: number): void {
    if (this.pending.delete(pid)) this.skipped++;
    this.procs.delete(pid);
  }

  /** pid takes over from's filesystem context (the thread that exec'd becomes the leader). */
  private adoptFs(pid: number, from: number): void {
    const p = this.procs.get(from);
    if (p && from !== pid) {
      this.procs.set(pid, { fs: p.fs, ownCwd: p.ownCwd });
      this.procs.delete(from);
    }
  }

  /**
   * A process's state. One not seen before is usually a child whose first call strace printed
   * before the parent's fork call returned: it gets the cwd of the parent still in such a call.
   */
  private proc(pid: number): Proc {
    let p = this.procs.get(pid);
    if (p) return p;
    let parent: number | undefined;
    let head = '';
    for (const [ppid, h] of this.pending) {
      if (ppid !== pid && FORKS.has(callName(h))) [parent, head] = [ppid, h];
    }
    if (parent !== undefined) {
      const pp = this.proc(parent);
      p = { fs: sharesFs(head) ? pp.fs : { cwd: pp.fs.cwd }, adoptedFrom: parent, ownCwd: false };
    } else {
      p = { fs: { cwd: this.initialCwd }, ownCwd: false };
    }
    this.procs.set(pid, p);
    return p;
  }

  private forked(parent: number, child: number, call: ParsedCall): void {
    const pp = this.proc(parent);
    const existing = this.procs.get(child);
    // Already adopted from this parent (or from another, and it has found its own cwd since): keep.
    if (existing && existing.adoptedFrom !== undefined && (existing.adoptedFrom === parent || existing.ownCwd)) {
      delete existing.adoptedFrom;
      return;
    }
    // Otherwise a new process, or a pid reused after an exit -qq did not print.
    const share = call.name !== 'fork' && call.name !== 'vfork' && sharesFs(call.args.join(', '));
    this.procs.set(child, { fs: share ? pp.fs : { cwd: pp.fs.cwd }, ownCwd: false });
  }

  private setCwd(p: Proc, cwd: string): void {
    p.fs.cwd = cwd;
    p.ownCwd = true;
  }

  private apply(pid: number, call: ParsedCall, joined: boolean): void {
    const { name, args } = call;
    const ok = call.ret !== '-1';
    if (call.ret === '?' && call.err?.startsWith('ERESTART')) return; // the kernel restarts it: printed again
    if (name === 'exit_group' || name === 'exit') return this.exited(pid);
    const proc = this.proc(pid);
    // -y prints the cwd for AT_FDCWD: the kernel's, which beats tracking it. Not from a joined
    // line, whose decoration is as old as its first half.
    if (!joined) {
      for (const a of args) {
        if (!a.startsWith('AT_FDCWD<')) continue;
        const cwd = fdArg(a);
        if (cwd?.path !== undefined && !cwd.deleted) this.setCwd(proc, cwd.path);
      }
    }
    if (FORKS.has(name)) {
      if (ok && /^\d+$/.test(call.ret) && call.ret !== '0') this.forked(pid, Number(call.ret), call);
      return;
    }
    if (name === 'getcwd') {
      const cwd = stringArg(args[0]);
      if (ok && cwd?.startsWith('/')) this.setCwd(proc, joinInside('/', cwd));
      return;
    }
    if (name === 'getdents64' || name === 'getdents') {
      // A directory read: the names the program learnt are evidence, whatever it opens later.
      const dir = fdArg(args[0]);
      if (ok && dir?.path !== undefined && !dir.deleted) this.add(pid, 'list', dir.path, undefined, call);
      return;
    }
    if (name === 'fchdir') {
      const dir = fdArg(args[0]);
      if (dir?.path === undefined) return;
      if (ok) this.setCwd(proc, dir.path);
      if (!dir.deleted) this.add(pid, 'chdir', dir.path, undefined, call);
      return;
    }
    const slots = CALLS[name];
    if (!slots) return;
    const exchange = name === 'renameat2' && /\bRENAME_EXCHANGE\b/.test(args[4] ?? '');
    const emptyPath = args.some((a) => !a.startsWith('"') && /\bAT_EMPTY_PATH\b/.test(a));
    for (const [dirArg, pathArg, how] of slots) {
      const asked = stringArg(args[pathArg]);
      if (asked === undefined) continue; // NULL, an address strace could not read, or cut short (`"..."...`)
      let path: string;
      if (asked === '') {
        // AT_EMPTY_PATH: the call is about the fd itself (fstat, fexecve, …).
        const fd = dirArg >= 0 && emptyPath ? fdArg(args[dirArg]) : undefined;
        if (fd?.path === undefined || fd.deleted) continue;
        path = fd.path;
      } else if (asked.startsWith('/')) {
        path = joinInside('/', asked);
      } else {
        const base = dirArg >= 0 ? dirBase(args[dirArg], proc) : proc.fs.cwd;
        if (base === undefined) continue; // relative to an fd whose path -y did not show
        path = joinInside(base, asked);
      }
      let op: AccessOp = how === 'by-flags' ? opFromFlags(args[pathArg + 1] ?? '') : how;
      if (exchange) op = 'write';
      let resolved: string | undefined;
      if (how === 'by-flags' && ok && call.retFd?.path !== undefined && !call.retFd.deleted && call.retFd.path !== path) resolved = call.retFd.path;
      if (name === 'chdir' && ok) this.setCwd(proc, path);
      this.add(pid, op, path, resolved, call);
    }
  }

  private add(pid: number, op: AccessOp, path: string, resolved: string | undefined, call: ParsedCall): void {
    const ok = call.ret !== '-1';
    const err = ok ? undefined : call.err;
    const key = `${op}\0${path}\0${resolved ?? ''}\0${ok ? '' : err ?? '?'}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const r: AccessRecord = { pid, op, path, ok, via: 'strace' };
    if (resolved !== undefined) r.resolved = resolved;
    if (err !== undefined) r.err = err;
    this.records.push(r);
  }
}

/** Parse a whole log (latin1-decoded file content). A last line without its newline was cut mid-write. */
export function parseStraceLog(text: string, opts: StraceParserOptions = {}): StraceParseResult {
  const p = new StraceParser(opts);
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      if (start < text.length) p.push(text.slice(start), false);
      break;
    }
    p.push(text.slice(start, nl));
    start = nl + 1;
  }
  return p.finish();
}

export interface ParsedCall {
  name: string;
  /** Top-level arguments as strace printed them, trimmed. */
  args: string[];
  /** `0`, `3`, `-1`, `?`, `0x…` */
  ret: string;
  /** The -y decoration of a returned fd. */
  retFd?: FdRef;
  /** The errno name after `-1` (`ENOENT`), or `errno N` when strace had no name for it. */
  err?: string;
}

export interface FdRef {
  /** Absolute path, decoded; undefined for sockets, pipes, anon inodes. */
  path: string | undefined;
  deleted: boolean;
}

const callName = (head: string): string => head.slice(0, Math.max(0, head.indexOf('(')));

const C_SPACE = 32;
const C_QUOTE = 34;
const isDigit = (c: number) => c >= 48 && c <= 57;
const C_BACKSLASH = 92;
const C_LT = 60;

/**
 * `name(arg, arg, …) = ret[<fd path>] [ERRNO (text)]`, strings, fd decorations and nesting
 * respected. Undefined when the line is not one complete call (cut short, garbled).
 */
export function parseCall(s: string): ParsedCall | undefined {
  const open = s.indexOf('(');
  if (open <= 0) return undefined;
  const name = s.slice(0, open);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) return undefined;
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  let closed = -1;
  for (let i = start; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === C_QUOTE) {
      i = skipString(s, i);
      if (i < 0) return undefined;
      continue;
    }
    if (c === C_LT) {
      // -y decoration; strace escapes `<` and `>` inside it, so the next `>` ends it.
      const end = s.indexOf('>', i + 1);
      if (end < 0) return undefined;
      i = end + 1;
      continue;
    }
    const ch = s[i];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) {
        if (ch !== ')') return undefined;
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
  const t = /^\s*=\s*(-?\d+|0x[0-9a-fA-F]+|\?)(?:(<[^>]*>)(\(deleted\))?)?(?:\s+(.*))?$/s.exec(s.slice(closed + 1));
  if (!t) return undefined;
  const call: ParsedCall = { name, args, ret: t[1]! };
  if (t[2]) call.retFd = fdRef(t[2].slice(1, -1), t[3] !== undefined);
  const extra = t[4] ?? '';
  if (call.ret === '-1' || call.ret === '?') {
    const e = /^([A-Z][A-Z0-9_]*) \(.*\)$/s.exec(extra) ?? /^\((errno \d+)\)$/.exec(extra);
    if (e) call.err = e[1]!;
    else if (call.ret === '-1' || extra !== '') return undefined; // `-1` without its errno: cut short
  }
  return call;
}

/** Index just past the string starting at i (and past a `...` marking it cut short), -1 if unterminated. */
function skipString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === C_BACKSLASH) j++;
    else if (c === C_QUOTE) return s.startsWith('...', j + 1) ? j + 4 : j + 1;
  }
  return -1;
}

/** A quoted strace string as a byte string; undefined for NULL, addresses and strings cut short (`"…"...`). */
export function stringArg(arg: string | undefined): string | undefined {
  if (arg === undefined || arg.length < 2 || !arg.startsWith('"') || !arg.endsWith('"')) return undefined;
  return unescape(arg.slice(1, -1));
}

const SIMPLE: Record<string, string> = { n: '\n', t: '\t', v: '\v', f: '\f', r: '\r', a: '\x07', b: '\b', e: '\x1b', '\\': '\\', '"': '"', "'": "'", '?': '?' };
const isOct = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Decode strace's C escapes into bytes: `\n` `\t` `\v` `\f` `\r` `\"` `\\`, octal `\NNN`, hex `\xNN`. */
export function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    if (next === 'x' && isHex(s[i + 2])) {
      const n = isHex(s[i + 3]) ? 2 : 1;
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 2 + n), 16));
      i += 1 + n;
    } else if (isOct(next)) {
      let n = 1;
      while (n < 3 && isOct(s[i + 1 + n])) n++;
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 1 + n), 8) & 0xff);
      i += n;
    } else if (next !== undefined && next in SIMPLE) {
      out += SIMPLE[next];
      i++;
    } else {
      out += ch; // a lone backslash: keep it
    }
  }
  return out;
}

/** An fd argument with its -y decoration: `3</usr/lib>`, `AT_FDCWD</app>`, `4</tmp/x>(deleted)`, `5<socket:[1]>`. */
function fdArg(arg: string | undefined): FdRef | undefined {
  const m = arg === undefined ? null : /^(?:-?\d+|AT_FDCWD)<([^>]*)>(\(deleted\))?$/.exec(arg);
  return m ? fdRef(m[1]!, m[2] !== undefined) : undefined;
}

function fdRef(inner: string, deletedAfter: boolean): FdRef {
  let p = unescape(inner);
  let deleted = deletedAfter;
  // Before 6.0, strace printed the /proc/PID/fd link text, which says it inside.
  if (!deleted && p.endsWith(' (deleted)')) {
    p = p.slice(0, -' (deleted)'.length);
    deleted = true;
  }
  return { path: p.startsWith('/') ? joinInside('/', p) : undefined, deleted };
}

/** The directory a path relative to this dirfd argument is looked up in. */
function dirBase(arg: string | undefined, proc: Proc): string | undefined {
  if (arg === undefined) return undefined;
  if (arg === 'AT_FDCWD' || arg === '-100') return proc.fs.cwd;
  // A deleted directory still serves as the (lexical) base of what was asked.
  return fdArg(arg)?.path;
}

/** Does a clone's argument text give the child the parent's fs context (cwd) itself, not a copy? */
function sharesFs(text: string): boolean {
  const flags = /\bflags=([A-Z0-9_|]+)/.exec(text);
  return flags !== null && flags[1]!.split('|').includes('CLONE_FS');
}

/** open's flags (`O_RDONLY|O_CLOEXEC`, or openat2's `{flags=…, resolve=…}`) to the op. */
function opFromFlags(flags: string): AccessOp {
  if (flags.includes('O_CREAT')) return 'create';
  if (/\bO_(?:WRONLY|RDWR|TRUNC)\b/.test(flags)) return 'write';
  return 'open';
}

