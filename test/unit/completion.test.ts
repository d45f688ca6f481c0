import { execFileSync } from 'node:child_process';
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { bashScript, completionSpec, fishScript, zshScript } from '../../src/cli/completion.js';

/** A small program shaped like slim's: program options, commands with options, values and choices. */
function program(extra?: (build: Command) => void): Command {
  const p = new Command('slim').option('-q, --quiet', 'print less');
  const build = new Command('build').description("build it (the image's files)").argument('[image]').option('-t, --tag <ref>', 'name [it]: here').option('--include <path>', 'keep it', (v: string, a: string[]) => [...a, v], []);
  build.addOption(new Option('--runtime <engine>', 'the engine').choices(['docker', 'podman']));
  build.addOption(new Option('--secret <x>', 'not shown').hideHelp());
  extra?.(build);
  p.addCommand(build);
  p.addCommand(new Command('completion').argument('<shell>').description('scripts'));
  return p;
}

function bashComplete(script: string, words: string[]): string[] {
  const set = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`;
  return execFileSync('bash', ['-c', `${script}\n${set}; _slim; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('completionSpec', () => {
  it('reads the commands and options from the program: values, choices, repeatable ones; hidden ones left out', () => {
    const spec = completionSpec(program());
    expect(spec.options.map((o) => o.long)).toEqual(['--quiet', '--help']);
    const build = spec.commands.find((c) => c.name === 'build')!;
    expect(build.options).toEqual([
      { short: '-t', long: '--tag', description: 'name [it]: here', takesValue: true, repeatable: false },
      { long: '--include', description: 'keep it', takesValue: true, repeatable: true },
      { long: '--runtime', description: 'the engine', takesValue: true, choices: ['docker', 'podman'], repeatable: false },
      { short: '-h', long: '--help', description: 'display help', takesValue: false, repeatable: false },
    ]);
    expect(spec.commands.map((c) => c.name)).toEqual(['build', 'completion']);
  });

  it('a flag added to the program is completed with no change to the scripts', () => {
    const before = bashScript(completionSpec(program()));
    const after = bashScript(completionSpec(program((b) => b.option('--brand-new', 'a new flag'))));
    expect(bashComplete(before, ['slim', 'build', '--bra'])).toEqual([]);
    expect(bashComplete(after, ['slim', 'build', '--bra'])).toEqual(['--brand-new']);
    expect(zshScript(completionSpec(program((b) => b.option('--brand-new', 'a new flag'))))).toMatch(/'--brand-new\[a new flag\]'/);
    expect(fishScript(completionSpec(program((b) => b.option('--brand-new', 'a new flag'))))).toMatch(/-l brand-new -d 'a new flag'/);
  });
});

describe('the scripts', () => {
  const spec = completionSpec(program());

  it('bash: commands, options, fixed values, and nothing for a free value', () => {
    const s = bashScript(spec);
    expect(bashComplete(s, ['slim', ''])).toEqual(['build', 'completion']);
    expect(bashComplete(s, ['slim', '-'])).toEqual(['-q', '--quiet', '-h', '--help']);
    expect(bashComplete(s, ['slim', '-q', 'build', 'x', '--runtime', 'p'])).toEqual(['podman']);
    expect(bashComplete(s, ['slim', 'build', '--tag', ''])).toEqual([]);
    expect(bashComplete(s, ['slim', 'build', '--se'])).toEqual([]);
  });

  it('zsh: brackets and colons of descriptions cannot end their fields; a quote is escaped', () => {
    const s = zshScript(spec);
    expect(s).toContain(`'(-t --tag)-t[name (it) - here]:value:_files'`);
    expect(s).toContain(`'*--include[keep it]:value:_files'`);
    expect(s).toContain(`'--runtime[the engine]:value:(docker podman)'`);
    expect(s).toContain(`'build:build it (the image'\\''s files)'`);
  });

  it('fish: quotes escaped the fish way', () => {
    const s = fishScript(spec);
    expect(s).toContain(`-a build -d 'build it (the image\\'s files)'`);
    expect(s).toContain(`complete -c slim -n '__fish_seen_subcommand_from build' -l runtime -x -a 'docker podman' -d 'the engine'`);
  });
});
