import { SlimError } from '../errors.js';

export interface EngineCallOptions {
  /** The engine's answer must start within this many ms; none: no bound (a stream that flows, a wait on a running container). */
  timeoutMs?: number;
  /** false: the run's signal does not abort it (cleanup, which runs after the abort). */
  abortable?: boolean;
  /** Another signal that aborts this call too (one a caller passed). */
  signal?: AbortSignal;
}

/** How long an engine request may wait for its answer to start, and the first contact (ping) in particular. */
export function engineTimeouts(env: NodeJS.ProcessEnv = process.env): { requestMs: number; pingMs: number } {
  const s = Number(env.SLIM_ENGINE_TIMEOUT);
  const requestMs = (Number.isFinite(s) && s > 0 ? s : 60) * 1000;
  return { requestMs, pingMs: Math.min(15_000, requestMs) };
}

/**
 * Engine requests, each bounded and abortable: a request whose answer does not start within its
 * timeout fails with an error naming the endpoint, and the run's signal (Ctrl-C) aborts any of
 * them, whatever the engine does. Long streams get no timeout: only the abort ends them.
 */
export class EngineCalls {
  constructor(
    /** unix:///var/run/docker.sock, tcp://host:port… */
    readonly endpoint: string,
    /** Where the endpoint came from, for the message: `DOCKER_HOST`, or undefined for the default. */
    readonly from: string | undefined,
    private readonly runSignal?: AbortSignal,
  ) {}

  /** The endpoint as messages name it. */
  get where(): string {
    return `${this.endpoint}${this.from ? ` (${this.from})` : ''}`;
  }

  async call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>, opts: EngineCallOptions = {}): Promise<T> {
    const outer = [opts.abortable === false ? undefined : this.runSignal, opts.signal].filter((s): s is AbortSignal => s !== undefined);
    for (const s of outer) s.throwIfAborted();
    const timer = new AbortController();
    const t = opts.timeoutMs !== undefined ? setTimeout(() => timer.abort(), opts.timeoutMs) : undefined;
    const signal = outer.length ? AbortSignal.any([timer.signal, ...outer]) : timer.signal;
    try {
      // Raced too, in case a request does not honour the signal: the caller is never left waiting.
      return await raceAbort(fn(signal), signal);
    } catch (err) {
      const by = outer.find((s) => s.aborted);
      if (by) throw by.reason;
      if (timer.signal.aborted) throw this.noAnswer(what, opts.timeoutMs!);
      throw err;
    } finally {
      clearTimeout(t);
    }
  }

  get aborted(): boolean {
    return this.runSignal?.aborted ?? false;
  }

  throwIfAborted(): void {
    this.runSignal?.throwIfAborted();
  }

  /** Run `fn` when the run aborts (a stream to destroy); returns what stops listening. */
  onAbort(fn: (reason: unknown) => void): () => void {
    const s = this.runSignal;
    if (!s) return () => {};
    if (s.aborted) {
      fn(s.reason);
      return () => {};
    }
    const listener = () => fn(s.reason);
    s.addEventListener('abort', listener, { once: true });
    return () => s.removeEventListener('abort', listener);
  }

  noAnswer(what: string, ms: number): SlimError {
    return new SlimError(`the container engine at ${this.where} did not answer ${what} within ${ms / 1000} s`, {
      code: 'ENGINE_TIMEOUT',
      hint: `something accepts connections there but does not answer as a container engine: check ${this.from ?? 'DOCKER_HOST'}, and that dockerd (or podman system service) runs and is not stuck (SLIM_ENGINE_TIMEOUT sets the wait in seconds)`,
    });
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
