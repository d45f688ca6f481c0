import type { Command, Option } from 'commander';

/** The shells `slim completion` writes a script for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** One option as completion needs it: its names, whether it takes a value and which, whether it repeats. */
export interface CompletionOption {
  short?: string;
  long?: string;
  description: string;
  takesValue: boolean;
  choices?: string[];
  repeatable: boolean;
}

export interface CompletionCommand {
  name: string;
  description: string;
  options: CompletionOption[];
  /** The values of its first argument, when they are a fixed set (`slim completion bash|zsh|fish`). */
  argumentChoices?: string[];
}

export interface CompletionSpec {
  program: string;
  options: CompletionOption[];
  commands: CompletionCommand[];
}

const HELP: CompletionOption = { short: '-h', long: '--help', description: 'display help', takesValue: false, repeatable: false };

function optionOf(o: Option): CompletionOption {
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    ...(o.argChoices?.length ? { choices: [...o.argChoices] } : {}),
    // A repeatable option collects into a list: its default is one (`[]`).
    repeatable: Array.isArray(o.defaultValue),
  };
}

/**
 * What the completion scripts are made of, read from the commander program itself: a flag or
 * a command added to the CLI is completed without anyone touching the scripts.
 */
export function completionSpec(program: Command): CompletionSpec {
  const visible = (c: Command) => c.options.filter((o) => !o.hidden).map(optionOf);
  return {
    program: program.name(),
    options: [...visible(program), HELP],
    commands: program.commands.map((c) => {
      const choices = c.registeredArguments[0]?.argChoices;
      return { name: c.name(), description: c.description(), options: [...visible(c), HELP], ...(choices?.length ? { argumentChoices: [...choices] } : {}) };
    }),
  };
}

export function completionScript(shell: Shell, spec: CompletionSpec): string {
  return shell === 'bash' ? bashScript(spec) : shell === 'zsh' ? zshScript(spec) : fishScript(spec);
}

const namesOf = (o: CompletionOption) => [o.short, o.long].filter((n): n is string => Boolean(n));
/** A name safe to use unquoted in each shell's source; commander's names always are, this makes sure. */
const word = (s: string) => s.replace(/[^A-Za-z0-9_.:/=+-]/g, '');
/** A short one-line description: the scripts show it next to each candidate. */
const brief = (s: string, max = 72) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1).replace(/\s+\S*$/, '') + '…' : one;
};

/** A bash function for `complete -F`: commands, then each command's options and their fixed values. */
export function bashScript(spec: CompletionSpec): string {
  const fn = `_${word(spec.program).replace(/[^A-Za-z0-9_]/g, '_')}`;
  const words = (opts: CompletionOption[]) => opts.flatMap(namesOf).map(word).join(' ');
  const cases = spec.commands.map((c) => {
    const valued = c.options.filter((o) => o.takesValue);
    const choices = valued.filter((o) => o.choices).map((o) => `        ${namesOf(o).map(word).join('|')}) COMPREPLY=($(compgen -W '${o.choices!.map(word).join(' ')}' -- "$cur")); return 0 ;;`);
    const free = valued.filter((o) => !o.choices).flatMap(namesOf).map(word);
    return [
      `    ${word(c.name)})`,
      `      case $prev in`,
      ...choices,
      // A value of its own (a file, a tag, a command): the shell's default completion (files) takes over.
      ...(free.length ? [`        ${free.join('|')}) return 0 ;;`] : []),
      `      esac`,
      `      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '${words(c.options)}' -- "$cur")); return 0; fi`,
      ...(c.argumentChoices ? [`      COMPREPLY=($(compgen -W '${c.argumentChoices.map(word).join(' ')}' -- "$cur"))`] : []),
      `      ;;`,
    ].join('\n');
  });
  return `# bash completion for ${spec.program}: source it, e.g. from ~/.bashrc:
#   source <(${spec.program} completion bash)
# made from ${spec.program}'s own options: run this again after an upgrade.
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd='' i
  COMPREPLY=()
  # The command is the first word that is no option (the program's own options take no value).
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*) ;;
      *) cmd=\${COMP_WORDS[i]}; break ;;
    esac
  done
  case $cmd in
    '')
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '${words(spec.options)}' -- "$cur"))
      else COMPREPLY=($(compgen -W '${spec.commands.map((c) => word(c.name)).join(' ')}' -- "$cur")); fi
      ;;
${cases.join('\n')}
  esac
  return 0
}
complete -o default -F ${fn} ${word(spec.program)}
`;
}

/** A zsh completion function (`#compdef`): works from $fpath or sourced after compinit. */
export function zshScript(spec: CompletionSpec): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // In an _arguments spec, brackets end the description and colons separate fields.
  const desc = (s: string) => brief(s).replace(/\[/g, '(').replace(/\]/g, ')').replace(/:/g, ' -');
  const spec1 = (o: CompletionOption) => {
    const names = namesOf(o).map(word);
    const exclusive = names.length > 1 ? `(${names.join(' ')})` : '';
    const value = !o.takesValue ? '' : o.choices ? `:value:(${o.choices.map(word).join(' ')})` : ':value:_files';
    const repeat = o.repeatable ? '*' : '';
    return names.map((n) => q(`${repeat || exclusive}${n}[${desc(o.description)}]${value}`)).join(' ');
  };
  const fn = `_${word(spec.program).replace(/[^A-Za-z0-9_]/g, '_')}`;
  const cases = spec.commands.map((c) => {
    const arg = c.argumentChoices ? ` ${q(`1:value:(${c.argumentChoices.map(word).join(' ')})`)}` : ` ${q('*:file:_files')}`;
    return `    ${word(c.name)}) _arguments ${c.options.map(spec1).join(' ')}${arg} ;;`;
  });
  return `#compdef ${word(spec.program)}
# zsh completion for ${spec.program}: put it in a directory of $fpath as _${spec.program}, or
#   source <(${spec.program} completion zsh)    (after compinit)
# made from ${spec.program}'s own options: run this again after an upgrade.
${fn}() {
  local state line
  local -a commands
  commands=(
${spec.commands.map((c) => `    ${q(`${word(c.name)}:${brief(c.description).replace(/:/g, ' -')}`)}`).join('\n')}
  )
  _arguments -C ${spec.options.map(spec1).join(' ')} '1: :->command' '*:: :->args'
  case $state in
    command) _describe command commands ;;
    args)
      case $line[1] in
${cases.map((c) => '    ' + c).join('\n')}
      esac
      ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${word(spec.program)}
fi
`;
}

/** fish `complete` lines: commands until one is given, then that command's options. */
export function fishScript(spec: CompletionSpec): string {
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const p = word(spec.program);
  const names = spec.commands.map((c) => word(c.name)).join(' ');
  const line = (cond: string, o: CompletionOption) => {
    const flags = [o.short ? `-s ${word(o.short.replace(/^-/, ''))}` : '', o.long ? `-l ${word(o.long.replace(/^--/, ''))}` : ''].filter(Boolean).join(' ');
    const value = !o.takesValue ? '' : o.choices ? ` -x -a ${q(o.choices.map(word).join(' '))}` : ' -r -F';
    return `complete -c ${p} -n ${q(cond)} ${flags}${value} -d ${q(brief(o.description))}`;
  };
  const lines = [
    `# fish completion for ${spec.program}: save as ~/.config/fish/completions/${spec.program}.fish, or`,
    `#   ${spec.program} completion fish | source`,
    `# made from ${spec.program}'s own options: run this again after an upgrade.`,
    `complete -c ${p} -e`,
    `complete -c ${p} -f`,
    ...spec.commands.map((c) => `complete -c ${p} -n ${q(`not __fish_seen_subcommand_from ${names}`)} -a ${word(c.name)} -d ${q(brief(c.description))}`),
    ...spec.options.map((o) => line(`not __fish_seen_subcommand_from ${names}`, o)),
  ];
  for (const c of spec.commands) {
    const cond = `__fish_seen_subcommand_from ${word(c.name)}`;
    lines.push(...c.options.map((o) => line(cond, o)));
    if (c.argumentChoices) lines.push(`complete -c ${p} -n ${q(cond)} -a ${q(c.argumentChoices.map(word).join(' '))}`);
    // Its arguments are images or files: those are what a bare word completes to.
    else lines.push(`complete -c ${p} -n ${q(cond)} -F`);
  }
  return lines.join('\n') + '\n';
}
