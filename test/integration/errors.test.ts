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

  it("commander's own usage errors exit 2 on every command, with the help hint", async () => {
    for (const args of [['attachments'], ['build', 'x', '--bogus'], ['lint', '--nope'], ['probe'], ['inspect'], ['diff', 'a'], ['no-such-command']]) {
      const r = await runSlim(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /);
    }
    expect((await runSlim(['build', '--help'])).code).toBe(0);
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
