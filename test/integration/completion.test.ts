import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSlim } from '../helpers/slim.js';

const scratch = mkdtempSync(join(tmpdir(), 'slim-completion-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const hasShell = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

/** What bash's completion of `words` (the last one being completed) offers, with the script slim printed sourced. */
function complete(script: string, words: string[]): string[] {
  const file = join(scratch, 'slim.bash');
  writeFileSync(file, script);
  const setWords = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`;
  const out = execFileSync('bash', ['-c', `source ${file} && ${setWords} && _slim && printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('slim completion', () => {
  it('bash: a valid script whose function completes commands, options and their values', async () => {
    const r = await runSlim(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const check = spawnSync('bash', ['-n'], { input: r.stdout, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(complete(r.stdout, ['slim', 'bu'])).toEqual(['build']);
    expect(complete(r.stdout, ['slim', 'build', '--net'])).toEqual(['--network']);
    // After the program's own options, with the image given; a flag's fixed values; the shells.
    expect(complete(r.stdout, ['slim', '-q', 'build', 'app:1', '--dry'])).toEqual(['--dry-run']);
    expect(complete(r.stdout, ['slim', 'build', 'app:1', '--runtime', ''])).toEqual(['docker', 'podman', 'oci', 'auto']);
    expect(complete(r.stdout, ['slim', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(complete(r.stdout, ['slim', ''])).toEqual(expect.arrayContaining(['build', 'probe', 'inspect', 'diff', 'lint', 'completion']));
    // A value of its own (a tag, a file) is left to the shell's file completion.
    expect(complete(r.stdout, ['slim', 'build', '--tag', ''])).toEqual([]);
    expect(r.stdout).toMatch(/^complete -o default -F _slim slim$/m);
  });

  it('zsh and fish: scripts naming every command and the options of each', async () => {
    const [zsh, fish] = await Promise.all([runSlim(['completion', 'zsh']), runSlim(['completion', 'fish'])]);
    expect(zsh.code, zsh.stderr).toBe(0);
    expect(fish.code, fish.stderr).toBe(0);
    // zsh and fish are not installed here: their syntax is checked only where they are.
    if (hasShell('zsh')) expect(spawnSync('zsh', ['-n'], { input: zsh.stdout }).status).toBe(0);
    if (hasShell('fish')) expect(spawnSync('fish', ['-n'], { input: fish.stdout }).status).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef slim\n/);
    expect(zsh.stdout).toMatch(/'build:run IMAGE under a probe/);
    expect(zsh.stdout).toMatch(/ build\) _arguments .*'--network\[[^\]]*\]:value:_files'/);
    expect(zsh.stdout).toMatch(/ build\) _arguments .*'--runtime\[[^\]]*\]:value:\(docker podman oci auto\)'/);
    expect(zsh.stdout).toMatch(/ build\) _arguments .*'\*--include\[/);
    expect(zsh.stdout).toMatch(/ completion\) _arguments .*'1:value:\(bash zsh fish\)'/);
    expect(fish.stdout).toMatch(/^complete -c slim -n 'not __fish_seen_subcommand_from build probe lint inspect diff attachments completion debug fleet' -a build -d 'run IMAGE/m);
    expect(fish.stdout).toMatch(/^complete -c slim -n '__fish_seen_subcommand_from build' -l network -r -F -d /m);
    expect(fish.stdout).toMatch(/^complete -c slim -n '__fish_seen_subcommand_from build' -l runtime -x -a 'docker podman oci auto' -d /m);
    expect(fish.stdout).toMatch(/^complete -c slim -n '__fish_seen_subcommand_from build' -s t -l tag -r -F -d /m);
    expect(fish.stdout).toMatch(/^complete -c slim -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'$/m);
  });

  it('an unknown shell or none is a usage error: one line and a pointer, exit 2, nothing on stdout', async () => {
    const bad = await runSlim(['completion', 'ksh']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.split('\n').filter(Boolean)).toEqual(['slim: error: shell must be one of bash, zsh, fish, not "ksh"', 'slim: hint: slim completion --help shows the arguments']);
    const none = await runSlim(['completion']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^slim: error: missing required argument 'shell'\n/);
  });
});
