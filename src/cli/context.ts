import type { Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import type { Scope } from '../runtime/scope.js';

export interface GlobalFlags {
  json?: boolean;
  report?: string;
  quiet?: boolean;
  verbose?: boolean;
  runId?: string;
  /** --runtime (docker, podman, auto), on the commands that talk to an engine. */
  runtime?: string;
}

export interface CommandContext {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}
