import { joinInside } from '../rootfs/safe-path.js';
import type { AccessRecord } from './record.js';
import { AccessRecords, recordCall } from './strace-access.js';
import { parseCall, splitPid, type ParsedCall } from './strace-call.js';
import { PendingCalls, UNFINISHED } from './strace-pending.js';
import { ProcTable } from './strace-procs.js';

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

export class StraceParser {
  private readonly pending = new PendingCalls();
  private readonly procs: ProcTable;
  private readonly out = new AccessRecords();
  private skipped = 0;

  constructor(opts: StraceParserOptions = {}) {
    this.procs = new ProcTable(joinInside('/', opts.cwd ?? '/'), this.pending);
  }

  /**
   * One line of the log, without its newline. `terminated: false` says the line had no newline
   * (the last line of a log strace did not finish writing): it is counted as skipped, unread.
   */
  push(line: string, terminated = true): void {
    if (line === '' || /^[ \t\r]*$/.test(line)) return;
    const head = terminated ? splitPid(line) : undefined;
    if (head === undefined) {
      this.skipped++;
      return;
    }
    const { pid } = head;
    let { rest } = head;
    if (rest.startsWith('+++ ')) return this.lifecycle(pid, rest);
    if (rest.startsWith('--- ')) return; // signals, stops
    let joined = false;
    let execPidChanged = false;
    if (rest.startsWith('<... ')) {
      const resumed = this.pending.resume(pid, rest);
      if (resumed === undefined) {
        this.skipped++;
        return;
      }
      rest = resumed.text;
      execPidChanged = resumed.execPidChanged;
      joined = true;
    }
    if (rest.endsWith(UNFINISHED)) {
      if (this.pending.suspend(pid, rest.slice(0, -UNFINISHED.length))) this.skipped++; // the earlier one never resumed
      return;
    }
    const changed = rest.endsWith(' ...>') ? / <pid changed to (\d+) \.\.\.>$/.exec(rest) : null;
    if (changed) {
      // execve by a thread other than the leader: it resumes as the leader's pid.
      this.pending.execContinues(Number(changed[1]), rest.slice(0, changed.index));
      this.procs.adopt(Number(changed[1]), pid);
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
    this.skipped += this.pending.drain();
    return { records: this.out.records, skippedLines: this.skipped };
  }

  private lifecycle(pid: number, rest: string): void {
    const sup = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/.exec(rest);
    if (sup) {
      const tid = Number(sup[1]);
      this.pending.superseded(pid, tid);
      this.procs.adopt(pid, tid);
      return;
    }
    if (/^\+\+\+ (?:exited with -?\d+|killed by \w+(?: \(core dumped\))?) \+\+\+$/.test(rest)) {
      this.exited(pid);
      return;
    }
    this.skipped++;
  }

  private exited(pid: number): void {
    if (this.pending.drop(pid)) this.skipped++;
    this.procs.delete(pid);
  }

  private apply(pid: number, call: ParsedCall, joined: boolean): void {
    if (call.ret === '?' && call.err?.startsWith('ERESTART')) return; // the kernel restarts it: printed again
    if (call.name === 'exit_group' || call.name === 'exit') return this.exited(pid);
    recordCall(this.procs, this.out, pid, call, joined);
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
