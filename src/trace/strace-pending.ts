import { callName } from './strace-call.js';
import { EXECS, FORKS } from './strace-syscalls.js';

export const UNFINISHED = ' <unfinished ...>';

/**
 * Calls strace printed in two halves: while another process's line came between a call's start
 * and its return, or while a thread's execve turned it into the group leader.
 */
export class PendingCalls {
  /** The start of a call printed with `<unfinished ...>`, per pid, until its `<... resumed>`. */
  private readonly pending = new Map<number, string>();
  /** An execve by a non-leader thread, keyed by the pid it continues under (`<pid changed to N ...>`). */
  private readonly pendingExec = new Map<number, string>();

  /**
   * A `<... NAME resumed>` line joined to the start it continues; undefined when it is garbled or
   * nothing of that name was left unfinished by the pid.
   */
  resume(pid: number, rest: string): { text: string; execPidChanged: boolean } | undefined {
    const r = /^<\.\.\. ([A-Za-z0-9_]+) resumed>(.*)$/s.exec(rest);
    if (!r) return undefined;
    const name = r[1]!;
    let body = r[2]!;
    // A process that died inside the call: `<... wait4 resumed> <unfinished ...>) = ?`
    if (body.startsWith(UNFINISHED)) body = body.slice(UNFINISHED.length);
    let head: string | undefined;
    let execPidChanged = false;
    if (EXECS.has(name) && this.pendingExec.has(pid)) {
      head = this.pendingExec.get(pid);
      this.pendingExec.delete(pid);
      execPidChanged = true;
    } else {
      head = this.pending.get(pid);
      if (head === undefined || callName(head) !== name) return undefined;
      this.pending.delete(pid);
    }
    return { text: head + body, execPidChanged };
  }

  /** Keeps the start of an unfinished call; true when it replaces one that never resumed. */
  suspend(pid: number, head: string): boolean {
    const replaced = this.pending.has(pid);
    this.pending.set(pid, head);
    return replaced;
  }

  /** A thread's execve that resumes as `pid`, the leader's. */
  execContinues(pid: number, head: string): void {
    this.pendingExec.set(pid, head);
  }

  /** Older strace: the thread's execve was left unfinished under the thread's own pid. */
  superseded(pid: number, tid: number): void {
    const head = this.pending.get(tid);
    if (head !== undefined && EXECS.has(callName(head))) {
      this.pending.delete(tid);
      this.pendingExec.set(pid, head);
    }
  }

  /** Forgets the pid's unfinished call; true when there was one. */
  drop(pid: number): boolean {
    return this.pending.delete(pid);
  }

  /** The last process other than pid still inside a fork call, with that call's start. */
  forkInProgress(pid: number): { parent: number; head: string } | undefined {
    let found: { parent: number; head: string } | undefined;
    for (const [ppid, h] of this.pending) {
      if (ppid !== pid && FORKS.has(callName(h))) found = { parent: ppid, head: h };
    }
    return found;
  }

  /** Forgets every call still unfinished, and says how many there were. */
  drain(): number {
    const n = this.pending.size + this.pendingExec.size;
    this.pending.clear();
    this.pendingExec.clear();
    return n;
  }
}
