/** Exit codes slim documents for scripts and CI. */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  verifyFailed: 3,
  overBudget: 4,
  lintFindings: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A failure the user can act on: one line of message, an optional hint, and the exit code.
 * Only cli/main.ts prints these and exits.
 */
export class SlimError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly code: string;

  constructor(message: string, opts: { code?: string; hint?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SlimError';
    this.code = opts.code ?? 'ERROR';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.error;
  }
}

/** A bug in slim, not in the input. */
export class InternalError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'InternalError';
  }
}

export class InterruptedError extends SlimError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, { code: 'INTERRUPTED', exitCode: ExitCode.interrupted });
  }
}

/** Hostile or malformed image content (paths escaping the root, broken archives). */
export class UnsafeImageError extends SlimError {
  constructor(message: string) {
    super(message, { code: 'UNSAFE_IMAGE' });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
