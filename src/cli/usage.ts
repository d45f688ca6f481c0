import type { Command } from 'commander';

/** Commander's reasons for stopping that are about the arguments, not the options. */
const ABOUT_ARGUMENTS = new Set(['commander.missingArgument', 'commander.excessArguments']);

/** `slim` or `slim build`: what the user typed to reach this command, for the pointer to its help. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * One of commander's parse errors said as slim says its own: one line of error, one line of
 * where to look. Commander puts a suggestion on a line of its own and ends some messages with a
 * full stop; a bad choice, a missing value and extra arguments are reworded to read like slim's own checks of values.
 */
export function usageLines(code: string, message: string, path: string): string[] {
  let text = message.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\?\)$/s, (_, s: string) => ` (did you mean ${s.replace(/\n/g, ' ')}?)`);
  const choice = /^option '(-\S+,\s*)?(--?\S+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.+)\.$/s.exec(text);
  if (choice) text = `${choice[2]} must be one of ${choice[4]}, not "${choice[3]}"`;
  const argChoice = /^command-argument value '(.*)' is invalid for argument '(.+)'\. Allowed choices are (.+)\.$/s.exec(text);
  if (argChoice) text = `${argChoice[2]} must be one of ${argChoice[3]}, not "${argChoice[1]}"`;
  const excess = /^too many arguments.*\. Expected (\d+) arguments? but got (\d+)\.$/s.exec(text);
  if (excess) text = `${path} takes ${excess[1]} argument${excess[1] === '1' ? '' : 's'}, not ${excess[2]}`;
  const noValue = /^option '(?:-\S+,\s*)?(--?[^\s']+)[^']*' argument missing$/.exec(text);
  if (noValue) text = `${noValue[1]} needs a value`;
  text = text.replace(/\.$/, '');
  const isRoot = !path.includes(' ');
  const hint =
    code === 'commander.unknownCommand' ? `${path} --help lists the commands`
    : ABOUT_ARGUMENTS.has(code) || argChoice ? `${path} --help shows the arguments`
    : `${path} --help lists the options${isRoot ? ' and commands' : ''}`;
  return [`slim: error: ${text}`, `slim: hint: ${hint}`];
}
