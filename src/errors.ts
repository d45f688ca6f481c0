/** Exit codes slim documents for scripts and CI. */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  verifyFailed: 3,
  overBudget: 4,
  lintFindings: 5,
  ciFailed: 6,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What went wrong, for callers that branch on it (and for the report); the message says it for people. */
export type ErrorCode =
  | 'ERROR'
  | 'USAGE' // a bad flag, argument or config value: exit 2
  | 'INTERRUPTED' // Ctrl-C / SIGTERM: exit 130
  | 'BAD_ARCHIVE' // an image archive or layout that is not what it claims
  | 'UNSAFE_IMAGE' // hostile content: an entry or link leading out, a blob that is not its digest
  | 'UNSUPPORTED_LAYER'
  | 'SOURCE_NOT_FOUND'
  | 'IMAGE_NOT_FOUND'
  | 'BAD_REFERENCE'
  | 'BAD_TRACE'
  | 'BAD_USER'
  | 'NO_COMMAND'
  | 'ENGINE' // the engine refused a request
  | 'ENGINE_UNREACHABLE'
  | 'ENGINE_TIMEOUT'
  | 'LOAD_FAILED'
  | 'BUILD_FAILED'
  | 'BUILD_UNSUPPORTED' // a runtime that runs images but builds none (--runtime oci)
  | 'START_FAILED'
  | 'PROBE_FAILED'
  | 'PROBE_UNAVAILABLE'
  | 'BASELINE_FAILED'
  | 'OUTPUT_FAILED'
  | 'COPY_RACE'
  | 'COPY_SPECIAL_FILE'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_DIGEST'
  | 'REGISTRY_FAILED'
  | 'REGISTRY_TRANSIENT' // retried before it is reported
  | 'REFERRERS_RACE'
  | 'NOT_FOUND'
  | 'NOT_RUNNING'; // slim debug: the target container is not (or no longer) running

/**
 * A failure the user can act on: one line of message, an optional hint, and the exit code.
 * Only cli/main.ts prints these and exits.
 */
export class SlimError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly code: ErrorCode;

  constructor(message: string, opts: { code?: ErrorCode; hint?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SlimError';
    this.code = opts.code ?? 'ERROR';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? ExitCode.error;
  }
}

/** A bad flag, argument or config value: exit 2, before anything touches the engine where it can. */
export class UsageError extends SlimError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, code: 'USAGE', exitCode: ExitCode.usage });
    this.name = 'UsageError';
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
