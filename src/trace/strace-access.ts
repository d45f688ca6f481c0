import { joinInside } from '../rootfs/safe-path.js';
import type { AccessOp, AccessRecord } from './record.js';
import { fdArg, stringArg, type ParsedCall } from './strace-call.js';
import { setCwd, type Proc, type ProcTable } from './strace-procs.js';
import { CALLS, FORKS, opFromFlags } from './strace-syscalls.js';

/** Each distinct (op, path, resolved, ok, err) once, with the pid that did it first. */
export class AccessRecords {
  private readonly seen = new Set<string>();
  readonly records: AccessRecord[] = [];

  add(pid: number, op: AccessOp, path: string, resolved: string | undefined, call: ParsedCall): void {
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

/** What one completed call shows: the paths it was about, and the cwd and processes it changed. */
export function recordCall(procs: ProcTable, out: AccessRecords, pid: number, call: ParsedCall, joined: boolean): void {
  const { name, args } = call;
  const ok = call.ret !== '-1';
  const proc = procs.get(pid);
  // -y prints the cwd for AT_FDCWD: the kernel's, which beats tracking it. Not from a joined
  // line, whose decoration is as old as its first half.
  if (!joined) {
    for (const a of args) {
      if (!a.startsWith('AT_FDCWD<')) continue;
      const cwd = fdArg(a);
      if (cwd?.path !== undefined && !cwd.deleted) setCwd(proc, cwd.path);
    }
  }
  if (FORKS.has(name)) {
    if (ok && /^\d+$/.test(call.ret) && call.ret !== '0') procs.forked(pid, Number(call.ret), call);
    return;
  }
  if (name === 'getcwd') {
    const cwd = stringArg(args[0]);
    if (ok && cwd?.startsWith('/')) setCwd(proc, joinInside('/', cwd));
    return;
  }
  if (name === 'getdents64' || name === 'getdents') {
    // A directory read: the names the program learnt are evidence, whatever it opens later.
    const dir = fdArg(args[0]);
    if (ok && dir?.path !== undefined && !dir.deleted) out.add(pid, 'list', dir.path, undefined, call);
    return;
  }
  if (name === 'fchdir') {
    const dir = fdArg(args[0]);
    if (dir?.path === undefined) return;
    if (ok) setCwd(proc, dir.path);
    if (!dir.deleted) out.add(pid, 'chdir', dir.path, undefined, call);
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
    if (name === 'chdir' && ok) setCwd(proc, path);
    out.add(pid, op, path, resolved, call);
  }
}

/** The directory a path relative to this dirfd argument is looked up in. */
function dirBase(arg: string | undefined, proc: Proc): string | undefined {
  if (arg === undefined) return undefined;
  if (arg === 'AT_FDCWD' || arg === '-100') return proc.fs.cwd;
  // A deleted directory still serves as the (lexical) base of what was asked.
  return fdArg(arg)?.path;
}
