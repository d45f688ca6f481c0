import { describe, expect, it } from 'vitest';
import { docker, leftovers } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

/** Each bad input: one line of error (plus an optional hint line), a non-zero exit, nothing left behind. */
function expectCleanFailure(r: { code: number | null; stderr: string; runId: string }, message: RegExp, code = 1): void {
  expect(r.code, r.stderr).toBe(code);
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'));
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
}

const tagIsAbsent = (tag: string) => expect(() => docker(['image', 'inspect', tag]), `${tag} must not exist`).toThrow();

describe('bad input', () => {
  it('an image that is not in the engine', async () => {
    const r = await runSlim(['build', 'slim-test/does-not-exist:1', '--smoke', 'true']);
    expectCleanFailure(r, /image slim-test\/does-not-exist:1 is not in the engine/);
  });

  it('an engine that cannot be reached', async () => {
    const r = await runSlim(['build', 'anything:1', '--smoke', 'true'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expectCleanFailure(r, /cannot reach the container engine at unix:\/\/\/nonexistent\/docker.sock/);
    expect(r.stderr).toMatch(/slim: hint: start dockerd/);
  });

  it('a smoke test that fails on the original image: says so and stops', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:nope-${port}`;
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', `curl -fsS http://127.0.0.1:${port}/missing`, '--smoke-timeout', '4']);
    expectCleanFailure(r, /the checks did not pass on the original image: smoke: curl .*: did not pass within 4s \(\d+ attempts\): curl: \(22\) .* 404/);
    tagIsAbsent(tag);
  });

  it('a container that exits at once', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:exits-${port}`;
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', tag, '--entrypoint', 'python3 -c "import sys; sys.exit(4)"', '--smoke', 'false', '--smoke-timeout', '20']);
    expectCleanFailure(r, /the checks did not pass on the original image: smoke: false: the container exited with code 4; last attempt: exited 1/);
    tagIsAbsent(tag);
  });

  it('a usage error exits 2', async () => {
    const r = await runSlim(['build', fixtureTag('python-http'), '--smoke-timeout', 'soon', '--smoke', 'true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slim: error: --smoke-timeout must be a positive number of seconds, not "soon"/);
  });

  it('a usage error of slim\'s own points at the help when it has no hint of its own', async () => {
    const r = await runSlim(['build', 'x', '--stop-timeout', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('slim: error: --stop-timeout must be a positive number of seconds, not "0"\nslim: hint: slim build --help lists the options\n');
  });

  // [args, error line, hint line]: the parse errors commander finds, on every command, said in two lines (no help text).
  const opts = (cmd: string) => `slim: hint: slim ${cmd} --help lists the options`;
  const args = (cmd: string) => `slim: hint: slim ${cmd} --help shows the arguments`;
  const cases: [string[], string, string][] = [
    [['biuld', 'x'], "unknown command 'biuld' (did you mean build?)", 'slim: hint: slim --help lists the commands'],
    [['nothing-like-it'], "unknown command 'nothing-like-it'", 'slim: hint: slim --help lists the commands'],
    [['--bogus'], "unknown option '--bogus'", 'slim: hint: slim --help lists the options and commands'],
    [['build', 'x', '--netwrk', 'host'], "unknown option '--netwrk' (did you mean --network?)", opts('build')],
    [['probe', 'x', '--trace-ot', 't.jsonl'], "unknown option '--trace-ot' (did you mean --trace-out?)", opts('probe')],
    [['lint', 'Dockerfile', '--ignor', 'SL001'], "unknown option '--ignor' (did you mean --ignore?)", opts('lint')],
    [['inspect', 'x', '--jsn'], "unknown option '--jsn' (did you mean --json?)", opts('inspect')],
    [['diff', 'a', 'b', '--dept', '2'], "unknown option '--dept' (did you mean --depth?)", opts('diff')],
    [['attachments', 'r', '--fetc', 'd'], "unknown option '--fetc' (did you mean --fetch?)", opts('attachments')],
    [['probe'], "missing required argument 'image'", args('probe')],
    [['lint'], "missing required argument 'dockerfile'", args('lint')],
    [['inspect'], "missing required argument 'image'", args('inspect')],
    [['diff', 'a'], "missing required argument 'b'", args('diff')],
    [['attachments'], "missing required argument 'ref'", args('attachments')],
    [['build', 'a', 'b'], 'slim build takes 1 argument, not 2', args('build')],
    [['probe', 'a', 'b'], 'slim probe takes 1 argument, not 2', args('probe')],
    [['inspect', 'a', 'b'], 'slim inspect takes 1 argument, not 2', args('inspect')],
    [['diff', 'a', 'b', 'c'], 'slim diff takes 2 arguments, not 3', args('diff')],
    [['attachments', 'a', 'b'], 'slim attachments takes 1 argument, not 2', args('attachments')],
    [['build', 'x', '--probe', 'ptrace'], '--probe must be one of auto, strace, fanotify, both, not "ptrace"', opts('build')],
    [['probe', 'x', '--probe', 'ptrace'], '--probe must be one of auto, strace, fanotify, both, not "ptrace"', opts('probe')],
    [['lint', 'Dockerfile', '--format', 'xml'], '--format must be one of text, json, sarif, checkstyle, gitlab, not "xml"', opts('lint')],
    [['diff', 'a', 'b', '--by', 'layer'], '--by must be one of dir, package, not "layer"', opts('diff')],
    [['build', 'x', '--tag'], '--tag needs a value', opts('build')],
    [['inspect', 'x', '--top'], '--top needs a value', opts('inspect')],
  ];
  it.each(cases)('slim %j: one error line, the pointer to --help, exit 2', async (argv, error, hint) => {
    const r = await runSlim(argv);
    expect(r.stderr).toBe(`slim: error: ${error}\n${hint}\n`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });

  it('--help and --version still exit 0', async () => {
    expect((await runSlim(['build', '--help'])).code).toBe(0);
    expect((await runSlim(['--version'])).code).toBe(0);
  });

  it('Ctrl-C in the middle of the probe removes everything and sets no tag', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:int-${port}`;
    let sent = false;
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', 'sleep 2; false', '--smoke-timeout', '120'], {
      onStderr: (all, kill) => {
        if (!sent && /probe container [0-9a-f]{12} started/.test(all)) {
          sent = true;
          setTimeout(() => kill('SIGINT'), 500);
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/slim: error: interrupted by SIGINT/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    tagIsAbsent(tag);
  });
});
