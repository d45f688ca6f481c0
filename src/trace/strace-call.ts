/**
 * One line of strace's output as text: the pid in front, the call with its arguments, its return
 * value and errno, strings and -y fd decorations decoded to byte strings (one character per byte).
 */
import { joinInside } from '../rootfs/safe-path.js';

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

export const callName = (head: string): string => head.slice(0, Math.max(0, head.indexOf('(')));

const C_SPACE = 32;
const C_QUOTE = 34;
const isDigit = (c: number) => c >= 48 && c <= 57;
const C_BACKSLASH = 92;
const C_LT = 60;

/** `PID  rest`: undefined when the line does not start with a pid and something after it. */
export function splitPid(line: string): { pid: number; rest: string } | undefined {
  let i = 0;
  while (i < line.length && isDigit(line.charCodeAt(i))) i++;
  const digits = i;
  while (i < line.length && line.charCodeAt(i) === C_SPACE) i++;
  if (digits === 0 || digits > 10 || i === digits || i === line.length) return undefined;
  return { pid: Number(line.slice(0, digits)), rest: line.slice(i) };
}

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
export function fdArg(arg: string | undefined): FdRef | undefined {
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
