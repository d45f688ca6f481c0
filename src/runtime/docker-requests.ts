import type Docker from 'dockerode';
import { SlimError } from '../errors.js';
import { engineTimeouts, type EngineCallOptions, type EngineCalls } from './engine-call.js';
import type { Flavour } from './engine-flavour.js';

export const { requestMs: REQUEST_MS, pingMs: PING_MS } = engineTimeouts();
/** Removals run in cleanup, after an abort: bounded, never aborted, and given longer (big volumes). */
export const CLEANUP: EngineCallOptions = { timeoutMs: 2 * REQUEST_MS, abortable: false };
export const REQUEST: EngineCallOptions = { timeoutMs: REQUEST_MS };

/** The dockerode client and the bounded, abortable calls made through it. */
export interface DockerEngine {
  readonly docker: Docker;
  readonly calls: EngineCalls;
  /** Docker or Podman, as the engine says (asked once). */
  flavour(): Promise<Flavour>;
  /** The engine runs on this machine: a file slim writes is one the engine can open. */
  readonly local: boolean;
}

/** A request dockerode gives no abort signal to, made through its modem. */
export function dial<T>(docker: Docker, path: string, method: 'GET' | 'POST', statusCodes: Record<number, true | string>, abortSignal: AbortSignal, isStream = false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    docker.modem.dial({ path, method, statusCodes, isStream, abortSignal, options: {} } as Parameters<Docker['modem']['dial']>[0], (err, data) => (err ? reject(err) : resolve(data as T)));
  });
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

/** An engine error with what slim was doing; slim's own errors (a timeout, Ctrl-C) pass as they are. */
export function wrap(what: string, err: unknown): SlimError {
  if (err instanceof SlimError) return err;
  return new SlimError(`${what}: ${engineMessage(err)}`, { code: 'ENGINE', cause: err });
}
