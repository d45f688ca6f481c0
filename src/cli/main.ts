#!/usr/bin/env node
import { takeEarlySignals } from './early-signals.js';
import { Command, Option } from 'commander';
import { createLogger } from '../log.js';
import { quietProgress } from '../progress.js';
import { ExitCode, InternalError, InterruptedError, SlimError, UsageError } from '../errors.js';
import { shortenMessage } from '../util/elide.js';
import { Scope } from '../runtime/scope.js';
import { OciRuntime, findOciBinary } from '../oci/oci-runtime.js';
import { RUNTIME_CHOICES, parseRuntimeChoice, selectedRuntime } from '../runtime/select-runtime.js';
import { SLIM_VERSION } from '../version.js';
import { buildCommand } from './commands/build.js';
import { probeCommand } from './commands/probe.js';
import { lintCommand } from './commands/lint.js';
import { inspectCommand } from './commands/inspect.js';
import { diffCommand } from './commands/diff.js';
import { attachmentsCommand } from './commands/attachments.js';
import { completionCommand } from './commands/completion.js';
import { debugCommand } from './commands/debug.js';
import { fleetCommand } from './commands/fleet.js';
import type { CommandContext, GlobalFlags } from './context.js';
import { commandPath, usageLines } from './usage.js';

/** The one place that prints errors and sets the exit code. */
async function runAction(action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags): Promise<void> {
  // -q silences the progress bars too, which the steps draw without a logger.
  quietProgress(flags.quiet ?? false);
  const log = createLogger({ level: flags.verbose ? 'debug' : 'info', quiet: flags.quiet ?? false });
  let code: number = ExitCode.error;
  if (flags.runId !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(flags.runId)) {
    process.stderr.write(`slim: error: --run-id must be 1-63 characters of a-z, 0-9, '_', '.', '-'\n`);
    process.exitCode = ExitCode.usage;
    return;
  }
  const scope = new Scope({ handleSignals: true, ...(flags.runId ? { id: flags.runId } : {}) });
  for (const sig of takeEarlySignals()) scope.interrupt(sig);
  const verbose = flags.verbose ?? false;
  try {
    scope.throwIfAborted();
    const binary = findOciBinary();
    const daemonless = binary ? { binary, make: () => new OciRuntime({ scope, binary }) } : undefined;
    code = await action({ runtime: selectedRuntime(parseRuntimeChoice(flags.runtime), { signal: scope.signal, log, ...(daemonless ? { daemonless } : {}) }), log, scope });
    // A signal that came while the action was finishing still makes it an interrupted run.
    scope.throwIfAborted();
  } catch (err) {
    const e = scope.signal.aborted && scope.signal.reason instanceof SlimError ? scope.signal.reason : err;
    code = report(e, verbose);
  } finally {
    const interrupted = scope.signal.aborted && scope.signal.reason instanceof InterruptedError;
    if (interrupted) process.stderr.write('slim: cleaning up…\n');
    const failures = await scope.dispose();
    // Cleanup ran: a signal from now on ends slim at once, with the run's exit code (never killed by it).
    const exitNow = () => process.exit(code);
    process.on('SIGINT', exitNow);
    process.on('SIGTERM', exitNow);
    for (const failure of failures) process.stderr.write(`slim: warning: ${shorten(failure.message, verbose)}\n`);
    // Said only once cleanup has run, and with what it could not remove.
    if (interrupted) {
      const left = failures.map((f) => (f as Error & { resource?: string }).resource ?? f.message);
      process.stderr.write(left.length ? `slim: cleanup done, except: ${shorten(left.join(', '), verbose)} could not be removed\n` : 'slim: cleanup done: everything slim created was removed\n');
      // Nothing is left to wait for: exit now, not after the aborted requests' sockets close (a
      // further Ctrl-C in that teardown would otherwise end slim by the signal, not with 130).
      process.exit(code);
    }
  }
  process.exitCode = code;
}

/** Long values (names, paths, references) are middle-elided unless --verbose: an error stays a line. */
function shorten(msg: string, verbose: boolean): string {
  return verbose ? msg : shortenMessage(msg);
}

function report(err: unknown, verbose: boolean): number {
  if (err instanceof SlimError) {
    process.stderr.write(`slim: error: ${shorten(err.message, verbose)}\n`);
    const hint = err.hint ?? (err instanceof UsageError ? `${running} --help lists the options` : undefined);
    if (hint) process.stderr.write(`slim: hint: ${shorten(hint, verbose)}\n`);
    if (verbose && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new InternalError(String(err));
  process.stderr.write(`slim: internal error: ${shorten(e.message, verbose)}\n`);
  if (verbose) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('slim: hint: run again with --verbose for the stack trace, and report it\n');
  return ExitCode.error;
}

/** The command whose action runs, for the pointer to its help under a usage error of slim's own. */
let running = 'slim';

const program = new Command('slim')
  .description('Make a minimal, hardened image from a bloated one, from evidence of what the app uses.')
  .version(SLIM_VERSION)
  .option('-q, --quiet', 'print only warnings and errors')
  .option('--verbose', 'print debug output and stack traces')
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .hook('preAction', (_self, action) => {
    running = commandPath(action);
  });

const withGlobals = (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => runAction(action, { ...program.opts(), ...flags });
program.addCommand(buildCommand(withGlobals));
program.addCommand(probeCommand(withGlobals));
program.addCommand(lintCommand(withGlobals));
program.addCommand(inspectCommand(withGlobals));
program.addCommand(diffCommand(withGlobals));
program.addCommand(attachmentsCommand(withGlobals));
program.addCommand(completionCommand(() => program));
program.addCommand(debugCommand(withGlobals));
program.addCommand(fleetCommand(withGlobals));
// The commands that talk to an engine pick it; it is chosen (and said) only once one is needed.
for (const cmd of [...program.commands.filter((c) => ['build', 'probe', 'inspect', 'diff', 'debug'].includes(c.name())), ...program.commands.filter((c) => c.name() === 'fleet').flatMap((c) => c.commands)]) {
  cmd.addOption(new Option('--runtime <engine>', 'the engine: docker, podman, oci (daemonless, with runc or crun), or auto (Docker at DOCKER_HOST or its socket, else a Podman service socket, else oci)').choices(RUNTIME_CHOICES).default('auto'));
}

// Commander's own errors (a missing argument, an unknown option, a bad choice) are usage errors:
// exit 2 with one line and a pointer to the help, like slim's. Commands added with addCommand do
// not inherit the program's settings. A bare `slim` still prints the help, which is its answer.
for (const cmd of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
  cmd.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => {} }).exitOverride((err) => {
    if (err.exitCode === 0) process.exit(0);
    if (err.code !== 'commander.help') process.stderr.write(usageLines(err.code, err.message, commandPath(cmd)).join('\n') + '\n');
    process.exit(ExitCode.usage);
  });
}

await program.parseAsync(process.argv);
