import { Argument, Command } from 'commander';
import { completionScript, completionSpec, SHELLS, type Shell } from '../completion.js';

/**
 * `slim completion bash|zsh|fish`: the script is made from `program` when asked, so it always has
 * the commands and options this slim has. No engine, no config file: it only prints.
 */
export function completionCommand(program: () => Command): Command {
  return new Command('completion')
    .description('print a shell completion script for bash, zsh or fish (e.g. source <(slim completion bash))')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell, completionSpec(program())));
    });
}
