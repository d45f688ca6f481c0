import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runSlim } from '../helpers/slim.js';

/**
 * Every bad flag or config value is a usage error before the engine is asked anything: with
 * DOCKER_HOST at a socket nobody listens on, the engine error would win if slim asked it first.
 */
const DEAD = { DOCKER_HOST: 'unix:///nonexistent/slim-dead.sock' };
const dir = mkdtempSync(join(tmpdir(), 'slim-early-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const cases: [string, string[], RegExp][] = [
  ['a publish spec', ['build', 'x:1', '--smoke', 'true', '-p', 'abc'], /^invalid --publish "abc"$/],
  ['a published port out of range', ['build', 'x:1', '--smoke', 'true', '-p', '99999:80'], /^invalid --publish "99999:80": ports are 1 to 65535$/],
  ['an HTTP port', ['build', 'x:1', '--http-probe', 'GET /', '--http-port', '99999'], /^--http-port must be a port number, not "99999"$/],
  ['a size', ['build', 'x:1', '--max-size', 'lots'], /^--max-size must be a size like 50MB/],
  ['a ratio', ['build', 'x:1', '--min-reduction', 'zero'], /^--min-reduction must be a ratio/],
  ['an output', ['build', 'x:1', '-o', 'tarball:x.tar'], /^unknown --output "tarball:x.tar"$/],
  ['an output file that cannot be written', ['build', 'x:1', '-o', 'docker-archive:/proc/x.tar'], /^--output docker-archive:\/proc\/x\.tar: \/proc is a kernel filesystem/],
  ['a tag', ['build', 'x:1', '-t', 'Not A Tag'], /^invalid image reference "Not A Tag"$/],
  ['an input name, with a good tag', ['build', 'Not!!', '-t', 'ok:1'], /^invalid image reference "Not!!"$/],
  ['a duration', ['build', 'x:1', '--smoke', 'true', '--smoke-timeout', 'soon'], /^--smoke-timeout must be a positive number of seconds, not "soon"$/],
  ['a stop timeout', ['build', 'x:1', '--stop-timeout', '-1'], /^--stop-timeout must be a positive number of seconds, not "-1"$/],
  ['a mount type', ['build', 'x:1', '--mount', 'type=nfs,target=/x'], /^--mount type=nfs,target=\/x: type nfs is not supported by slim$/],
  ['a relative volume target', ['build', 'x:1', '-v', 'data'], /^-v data: the path in the container must be absolute, not "data"$/],
  ['a relative host directory', ['build', 'x:1', '-v', './data:/data'], /^-v \.\/data:\/data: "\.\/data" is neither an absolute host path nor a volume name$/],
  ['a relative workdir', ['build', 'x:1', '-w', 'app'], /^--workdir takes an absolute path in the container, not "app"$/],
  ['an empty user', ['build', 'x:1', '-u', ''], /^--user must be USER or USER:GROUP/],
  ['a capability', ['build', 'x:1', '--cap-add', 'FLY'], /^--cap-add FLY: no such capability$/],
  ['a security option', ['build', 'x:1', '--security-opt', 'nonsense'], /^--security-opt nonsense: needs KEY=VALUE/],
  ['a host entry', ['build', 'x:1', '--add-host', 'db'], /^--add-host must be HOST:IP, not "db"$/],
  ['a platform', ['build', 'x:1', '--platform', 'a/b/c/d'], /^--platform must be OS\/ARCH\[\/VARIANT\]/],
  ['a trace that is not there', ['build', 'x:1', '--trace', '/nonexistent/trace.jsonl'], /^cannot read --trace \/nonexistent\/trace\.jsonl: ENOENT$/],
  ['an HTML report in no directory', ['build', 'x:1', '--html', '/nonexistent/dir/r.html'], /^--html \/nonexistent\/dir\/r\.html: no such directory: \/nonexistent\/dir$/],
  ['an SBOM in no directory', ['build', 'x:1', '--sbom', '/nonexistent/dir/s.json'], /^--sbom \/nonexistent\/dir\/s\.json: no such directory/],
  ['a seccomp profile in no directory', ['build', 'x:1', '--harden', '--seccomp-out', '/nonexistent/dir/p.json'], /^--seccomp-out \/nonexistent\/dir\/p\.json: no such directory/],
  ['a trace out in no directory', ['build', 'x:1', '--trace-out', '/nonexistent/dir/t.jsonl'], /^--trace-out \/nonexistent\/dir\/t\.jsonl: no such directory/],
  ['a smoke command sh cannot parse', ['build', 'x:1', '--smoke', 'curl -fsS http://127.0.0.1:8080/ && (echo ok'], /^--smoke "curl -fsS http:\/\/127\.0\.0\.1:8080\/ && \(echo ok" is not a valid shell command: Syntax error: end of file unexpected \(expecting "\)"\)$/],
  ['a verify smoke command sh cannot parse', ['build', 'x:1', '--smoke', 'true', '--verify-smoke', 'if then'], /^--verify-smoke "if then" is not a valid shell command: Syntax error: "then" unexpected$/],
  ['probe: a publish spec', ['probe', 'x:1', '--trace-out', join(dir, 't.jsonl'), '-p', 'abc'], /^invalid --publish "abc"$/],
  ['probe: a smoke command', ['probe', 'x:1', '--trace-out', join(dir, 't.jsonl'), '--smoke', 'if then'], /^--smoke "if then" is not a valid shell command/],
  ['probe: a trace out in no directory', ['probe', 'x:1', '--trace-out', '/nonexistent/dir/t.jsonl'], /^--trace-out \/nonexistent\/dir\/t\.jsonl: no such directory/],
  ['probe: an input name', ['probe', 'Not!!', '--trace-out', join(dir, 't.jsonl')], /^invalid image reference "Not!!"$/],
  ['inspect: an input name', ['inspect', 'Not!!'], /^invalid image reference "Not!!"$/],
  ['inspect: a registry input name', ['inspect', 'registry:Not!!/x'], /^invalid registry reference "Not!!\/x"$/],
  ['inspect: a count', ['inspect', 'x:1', '--top', '0'], /^--top must be a whole number above 0, not "0"$/],
  ['inspect: an HTML page in no directory', ['inspect', 'x:1', '--html', '/nonexistent/dir/i.html'], /^--html \/nonexistent\/dir\/i\.html: no such directory/],
  ['inspect: a CI threshold', ['inspect', 'x:1', '--ci', '--lowest-efficiency', '3'], /^--lowest-efficiency must be a ratio between 0 and 1/],
  ['diff: an input name', ['diff', 'a:1', 'Not!!'], /^invalid image reference "Not!!"$/],
  ['diff: a depth', ['diff', 'a:1', 'b:1', '--depth', '0'], /^--depth must be a whole number above 0, not "0"$/],
  ['diff: an HTML page in no directory', ['diff', 'a:1', 'b:1', '--html', '/nonexistent/dir/d.html'], /^--html \/nonexistent\/dir\/d\.html: no such directory/],
  ['diff: a platform', ['diff', 'a:1', 'b:1', '--platform', 'x//y'], /^--platform must be OS\/ARCH/],
  ['slim.yaml: a YAML syntax error', ['build', '--config', config('syntax.yaml', 'image: x:1\nenv:\n  A: 1\n B: 2\n')], /^\/\S+\/syntax\.yaml:4:1: All mapping items must start at the same column$/],
  ['slim.yaml: a misspelt key', ['build', '--config', config('typo.yaml', 'image: x:1\nnetwrok: host\n')], /^\/\S+\/typo\.yaml:2:1: unknown option "netwrok" \(did you mean network\?\)$/],
  ['slim.yaml: a bad size', ['build', '--config', config('size.yaml', 'image: x:1\nmax-size: lots\n')], /^\/\S+\/size\.yaml:2:11: max-size must be a size like 50MB/],
  ['slim.yaml: a bad port', ['build', '--config', config('port.yaml', "image: x:1\nsmoke: 'true'\nhttp-port: 99999\n")], /^\/\S+\/port\.yaml:3:12: http-port must be a port number, not "99999"$/],
  ['slim.yaml: a smoke command sh cannot parse', ['build', '--config', config('smoke.yaml', "image: x:1\nsmoke: 'if then'\n")], /^\/\S+\/smoke\.yaml:2:8: smoke "if then" is not a valid shell command: Syntax error: "then" unexpected$/],
];

describe('bad values are usage errors before the engine is contacted', () => {
  it.each(cases)('%s', async (_name, argv, message) => {
    const r = await runSlim(argv, { env: DEAD });
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('slim: error: '));
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]!.slice('slim: error: '.length)).toMatch(message);
    expect(r.stderr).not.toMatch(/cannot reach the container engine|internal error/);
    expect(r.code, r.stderr).toBe(2);
  });

  it('an --env-file that is not there, through bin/slim (node would take the flag as its own from runSlim\'s argv)', () => {
    const bin = fileURLToPath(new URL('../../bin/slim', import.meta.url));
    const r = spawnSync(bin, ['build', 'x:1', '--env-file', '/nonexistent/app.env'], { env: { ...process.env, ...DEAD }, encoding: 'utf8' });
    expect(r.stderr).toMatch(/^slim: error: cannot read --env-file \/nonexistent\/app\.env: ENOENT\n/);
    expect(r.status).toBe(2);
  });

  it('the same flags, good, reach the engine (so the cases above were stopped by their value)', async () => {
    const r = await runSlim(['build', 'x:1', '--smoke', 'true', '-p', '8080:80', '-v', '/srv:/data:ro', '-w', '/app', '--max-size', '50MB', '--html', join(dir, 'r.html')], { env: DEAD });
    expect(r.stderr).toMatch(/slim: error: cannot reach the container engine at unix:\/\/\/nonexistent\/slim-dead\.sock/);
    expect(r.code).toBe(1);
  });
});
