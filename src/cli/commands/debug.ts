import { Command } from 'commander';
import type { GlobalFlags, CommandContext } from '../context.js';
import { parseCommand } from '../options.js';
import { collect } from './run-options.js';

interface DebugFlags {
  image: string;
  entrypoint?: string;
  cmd?: string;
  env: string[];
  network?: string;
  user?: string;
}

const DEFAULT_HELPER = 'debian:bookworm';

export function debugCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('debug')
    .description('a shell in a shell-less container: a helper container sharing its PID and network namespaces, its files at /proc/1/root; an IMAGE is started for it, and removed with the helper when the shell exits')
    .argument('<target>', 'a running container (name or ID), or an image in the engine to start')
    .argument('[args...]', 'after --: a command to run in the helper instead of the shell (its exit code is slim\'s), e.g. -- ls /proc/1/root/app')
    .option('--image <image>', 'where the shell comes from: any image in the engine with /bin/sh', DEFAULT_HELPER)
    .option('--entrypoint <cmd>', 'an IMAGE target\'s entrypoint: JSON array or words')
    .option('--cmd <cmd>', 'an IMAGE target\'s command: JSON array or words')
    .option('-e, --env <key=value>', 'environment variable for an IMAGE target (repeatable)', collect, [])
    .option('--network <mode>', 'network of an IMAGE target (docker run --network); the helper shares it')
    .option('-u, --user <user[:group]>', 'user of an IMAGE target')
    .option('--run-id <id>', 'label value for the containers this run creates (io.slim.run=ID); default: random')
    .action(async (target: string, args: string[], flags: DebugFlags & GlobalFlags) => {
      await run(async (ctx) => {
        // Checked before the engine is asked anything.
        const entrypoint = flags.entrypoint !== undefined ? parseCommand('--entrypoint', flags.entrypoint) : undefined;
        const cmd = flags.cmd !== undefined ? parseCommand('--cmd', flags.cmd) : undefined;
        const { debugSession } = await import('../../pipeline/debug.js');
        const { stdin, stdout, stderr } = process;
        // docker run -it semantics on a terminal: keys go to the container as typed (Ctrl-C too);
        // from a pipe or file, stdin is a script and its end is the shell's EOF.
        const terminal = Boolean(stdin.isTTY && stdout.isTTY);
        let resize: (() => void) | undefined;
        if (terminal) stdin.setRawMode(true);
        try {
          return await debugSession(
            { target, helper: flags.image, args, run: { ...(entrypoint ? { entrypoint } : {}), ...(cmd ? { cmd } : {}), env: flags.env, ...(flags.network ? { network: flags.network } : {}), ...(flags.user ? { user: flags.user } : {}) } },
            { stdin, stdout, stderr, ...(terminal ? { tty: { rows: stdout.rows, columns: stdout.columns } } : {}) },
            ctx,
            (shell) => {
              if (!terminal) return;
              resize = () => void shell.resize(stdout.rows, stdout.columns);
              stdout.on('resize', resize);
            },
          );
        } finally {
          if (resize) stdout.off('resize', resize);
          if (terminal) stdin.setRawMode(false);
          // Read no more: an open stdin would keep slim running after the shell ended.
          stdin.destroy();
        }
      }, flags);
    });
}
