import type { ParsedCall } from './strace-call.js';
import type { PendingCalls } from './strace-pending.js';
import { sharesFs } from './strace-syscalls.js';

/** A process's filesystem context; threads created with CLONE_FS share one object. */
interface Fs {
  cwd: string;
}
export interface Proc {
  fs: Fs;
  /** Set while the process was given its parent's cwd before the parent's fork call returned. */
  adoptedFrom?: number;
  /** It learnt or set its own cwd since (chdir, fchdir, getcwd, an AT_FDCWD decoration). */
  ownCwd: boolean;
}

export function setCwd(p: Proc, cwd: string): void {
  p.fs.cwd = cwd;
  p.ownCwd = true;
}

/** The cwd of each live process, carried across forks, clones and a thread's exec. */
export class ProcTable {
  private readonly procs = new Map<number, Proc>();
  private readonly initialCwd: string;
  private readonly pending: PendingCalls;

  constructor(initialCwd: string, pending: PendingCalls) {
    this.initialCwd = initialCwd;
    this.pending = pending;
  }

  /**
   * A process's state. One not seen before is usually a child whose first call strace printed
   * before the parent's fork call returned: it gets the cwd of the parent still in such a call.
   */
  get(pid: number): Proc {
    let p = this.procs.get(pid);
    if (p) return p;
    const fork = this.pending.forkInProgress(pid);
    if (fork !== undefined) {
      const pp = this.get(fork.parent);
      p = { fs: sharesFs(fork.head) ? pp.fs : { cwd: pp.fs.cwd }, adoptedFrom: fork.parent, ownCwd: false };
    } else {
      p = { fs: { cwd: this.initialCwd }, ownCwd: false };
    }
    this.procs.set(pid, p);
    return p;
  }

  delete(pid: number): void {
    this.procs.delete(pid);
  }

  /** pid takes over from's filesystem context (the thread that exec'd becomes the leader). */
  adopt(pid: number, from: number): void {
    const p = this.procs.get(from);
    if (p && from !== pid) {
      this.procs.set(pid, { fs: p.fs, ownCwd: p.ownCwd });
      this.procs.delete(from);
    }
  }

  forked(parent: number, child: number, call: ParsedCall): void {
    const pp = this.get(parent);
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
}
