import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExitCode, InterruptedError } from '../errors.js';

type Cleanup = () => Promise<void> | void;

export interface ScopeOptions {
  /** Turn SIGINT and SIGTERM into an abort of the scope (the CLI's scope does). */
  handleSignals?: boolean;
  id?: string;
  /** Where the scope says what a second and a third signal do (default: stderr). */
  say?: (line: string) => void;
  /** What a third signal does once it has said what is left (default: exit 130 at once). */
  force?: () => void;
}

/**
 * Owns everything a run creates (temp dirs, containers, volumes, partial outputs) and removes it,
 * in reverse order, when the run ends: on success, on error and on SIGINT/SIGTERM alike.
 * Cleanup is structural: whoever creates a resource registers its removal here at once.
 *
 * Signals: the first aborts the run, which then cleans up; a second one is told that cleanup is
 * in progress (and what a third would leave), and cleanup goes on; a third says what is left and
 * exits at once.
 */
export class Scope implements AsyncDisposable {
  readonly id: string;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly cleanups: { name: string; fn: Cleanup }[] = [];
  /** The cleanup running now, while the scope is disposed. */
  private current: string | undefined;
  private disposed = false;
  private signals = 0;
  private readonly say: (line: string) => void;
  private readonly force: () => void;
  private readonly onSignal = (sig: NodeJS.Signals) => this.interrupt(sig);

  constructor(opts: ScopeOptions = {}) {
    this.id = opts.id ?? randomBytes(6).toString('hex');
    this.signal = this.controller.signal;
    this.say = opts.say ?? ((line) => void process.stderr.write(`${line}\n`));
    this.force = opts.force ?? (() => process.exit(ExitCode.interrupted));
    if (opts.handleSignals) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
  }

  /** What a signal does (the handler of SIGINT and SIGTERM; also for a signal that came before the scope). */
  interrupt(sig: NodeJS.Signals): void {
    this.signals++;
    if (this.signals === 1) {
      this.controller.abort(new InterruptedError(sig));
      return;
    }
    const left = this.pending();
    const leaves = left.length ? left.join(', ') : 'nothing';
    if (this.signals === 2) {
      this.say(`slim: cleanup in progress; Ctrl-C again to force, which leaves: ${leaves}`);
      return;
    }
    this.say(`slim: forced to exit by ${sig}; left behind: ${leaves}`);
    this.force();
  }

  /** What is not removed yet: the cleanup running now first, then the others in the order they will run. */
  pending(): string[] {
    return [...(this.current ? [this.current] : []), ...this.cleanups.map((c) => c.name).reverse()];
  }

  /** Register a cleanup; it runs when the scope is disposed, last registered first. */
  defer(name: string, fn: Cleanup): void {
    this.cleanups.push({ name, fn });
  }

  /** Forget a cleanup (the resource was handed over, e.g. an output that passed verification). */
  release(name: string): void {
    const i = this.cleanups.findIndex((c) => c.name === name);
    if (i >= 0) this.cleanups.splice(i, 1);
  }

  async tempDir(prefix = 'slim-'): Promise<string> {
    this.throwIfAborted();
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.defer(`temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  throwIfAborted(): void {
    this.signal.throwIfAborted();
  }

  abort(reason: unknown): void {
    this.controller.abort(reason);
  }

  /**
   * Run every cleanup, last registered first. Errors in cleanups are collected, never thrown over
   * the run's own error. Signals stay handled until the last cleanup ran: a second Ctrl-C does not
   * cut cleanup short.
   */
  async dispose(): Promise<Error[]> {
    if (this.disposed) return [];
    this.disposed = true;
    const failures: Error[] = [];
    try {
      for (let c = this.cleanups.pop(); c; c = this.cleanups.pop()) {
        this.current = c.name;
        try {
          await c.fn();
        } catch (err) {
          failures.push(Object.assign(new Error(`cleanup of ${c.name} failed: ${(err as Error).message}`), { resource: c.name }));
        }
      }
    } finally {
      this.current = undefined;
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    }
    return failures;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Rejects when the signal aborts, so that long awaits end on Ctrl-C. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
