import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InterruptedError } from '../errors.js';

type Cleanup = () => Promise<void> | void;

/**
 * Owns everything a run creates (temp dirs, containers, volumes, partial outputs) and removes it,
 * in reverse order, when the run ends: on success, on error and on SIGINT/SIGTERM alike.
 * Cleanup is structural: whoever creates a resource registers its removal here at once.
 */
export class Scope implements AsyncDisposable {
  readonly id: string;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly cleanups: { name: string; fn: Cleanup }[] = [];
  private disposed = false;
  private readonly onSignal = (sig: NodeJS.Signals) => this.controller.abort(new InterruptedError(sig));

  constructor(opts: { handleSignals?: boolean; id?: string } = {}) {
    this.id = opts.id ?? randomBytes(6).toString('hex');
    this.signal = this.controller.signal;
    if (opts.handleSignals) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
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

  /** Errors in cleanups are collected, never thrown over the run's own error. */
  async dispose(): Promise<Error[]> {
    if (this.disposed) return [];
    this.disposed = true;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const failures: Error[] = [];
    for (const { name, fn } of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        failures.push(new Error(`cleanup of ${name} failed: ${(err as Error).message}`));
      }
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
