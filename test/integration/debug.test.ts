import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODMAN_SOCKET, docker, leftovers, podmanLeftovers, removeImages, requirePodman } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

// node-http under --harden: no shell, no package manager, a non-root USER (app). Nothing in it can
// give a shell, which is what slim debug is for.
const madeTags: string[] = [];
const started: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-debug-test-'));
let slimImage = '';

beforeAll(async () => {
  const port = freePort();
  slimImage = `slim-test/node-http:debug-${port}`;
  madeTags.push(slimImage);
  const r = await runSlim(['build', fixtureTag('node-http'), '--tag', slimImage, '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /', '--harden', '--seccomp-out', join(work, 'seccomp.json'), '--json']);
  expect(r.code, r.stderr).toBe(0);
  docker(['image', 'inspect', slimImage]);
  // The premise: the image itself has no shell to exec.
  expect(() => docker(['run', '--rm', '--entrypoint', '/bin/sh', slimImage, '-c', 'true'])).toThrow();
  docker(['run', '--rm', '--entrypoint', '/bin/true', 'debian:bookworm']);
}, 300_000);

afterAll(() => {
  for (const c of started) docker(['rm', '-f', c]);
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('slim: error:'));

describe('slim debug', () => {
  it('IMAGE -- CMD: runs the command beside the started image, prints its files, and leaves nothing', async () => {
    const r = await runSlim(['debug', slimImage, '--', 'ls', '/proc/1/root/app']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['server.js', 'lib']));
    expect(r.stderr).toMatch(/debug shell from debian:bookworm in the PID and network namespaces of slim-test\/node-http:debug-\d+ \(container [0-9a-f]{12}\): its files are at \/proc\/1\/root/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('the command starts in the target\'s root and sees its process and its ports; its exit code is slim\'s', async () => {
    // Relative paths are the target's; PID 1 is its node; its port answers on the helper's localhost.
    const script = [
      'test ! -e bin/sh && echo "no shell in the target"',
      'tr "\\0" " " < /proc/1/cmdline; echo',
      'exec 3<>/dev/tcp/127.0.0.1/8082 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && head -n 1 <&3',
      'exit 7',
    ].join('\n');
    const r = await runSlim(['debug', slimImage, '--', 'bash', '-c', script]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toContain('no shell in the target');
    expect(r.stdout).toContain('node /app/server.js');
    expect(r.stdout).toMatch(/^HTTP\/1\.[01] 200/m);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a shell reading its commands from a pipe (no TTY): runs them, ends at EOF', async () => {
    const r = await runSlim(['debug', slimImage], { input: 'pwd\nls app/lib\nls bin/sh\n' });
    // The last command's status is the shell's, and so slim's: the target has no /bin/sh.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout.split('\n')).toEqual(['/proc/1/root', 'greet.js', '']);
    expect(r.stderr).toMatch(/ls: cannot access 'bin\/sh': No such file or directory/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a running CONTAINER by name: the helper joins it, and the container is left running', async () => {
    const name = `slim-debug-target-${freePort()}`;
    docker(['run', '-d', '--name', name, slimImage]);
    started.push(name);
    const r = await runSlim(['debug', name, '--', 'cat', '/proc/1/root/app/server.js']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/createServer|listen/);
    expect(r.stderr).toContain(`of container ${name} (`);
    expect(JSON.parse(docker(['inspect', name]))[0].State.Running).toBe(true);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('Ctrl-C during the command: both containers removed, exit 130', async () => {
    let sent = false;
    const r = await runSlim(['debug', slimImage, '--', 'sleep', '60'], {
      onStderr: (all, kill) => {
        if (!sent && all.includes('debug shell from')) {
          sent = true;
          setTimeout(() => kill('SIGINT'), 1000);
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('slim: cleanup done: everything slim created was removed');
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('what is not there, or not running: one line, nothing started', async () => {
    const missing = await runSlim(['debug', 'slim-test/no-such-image:1', '--', 'true']);
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr)).toEqual(['slim: error: no container or image named slim-test/no-such-image:1 in the engine']);
    const noHelper = await runSlim(['debug', slimImage, '--image', 'slim-test/no-such-helper:1', '--', 'true']);
    expect(noHelper.code).toBe(1);
    expect(errorLines(noHelper.stderr)).toEqual(['slim: error: the helper image slim-test/no-such-helper:1 is not in the engine']);
    expect(noHelper.stderr).toContain('slim: hint: give --image IMAGE');
    // A job that ends at once has nothing to attach to.
    const job = await runSlim(['debug', slimImage, '--entrypoint', '["/usr/bin/node","-e","console.log(42)"]', '--', 'true']);
    expect(job.code).toBe(1);
    expect(errorLines(job.stderr)[0]).toMatch(/exited with code 0 as soon as it started \(42\): there is nothing to attach to$/);
    const bad = await runSlim(['debug', slimImage, '--cmd', '["unclosed"', '--', 'true']);
    expect(bad.code).toBe(2);
    for (const r of [missing, noHelper, job, bad]) expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });
});

describe('slim debug on Podman', () => {
  it('a script on stdin reaches the shell as written, nothing else before it; the exit code and cleanup as on Docker', async () => {
    requirePodman();
    // debian:bookworm is both target (kept up by sleep) and helper here: what matters is the attach.
    const r = await runSlim(['debug', '--runtime', 'podman', 'debian:bookworm', '--cmd', 'sleep 60'], {
      env: { CONTAINER_HOST: `unix://${PODMAN_SOCKET}` },
      input: 'tr "\\0" " " < /proc/1/cmdline; echo\nexit 3\n',
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('sleep 60 \n');
    expect(r.stderr).not.toMatch(/command not found/);
    expect(podmanLeftovers(r.runId)).toEqual({ containers: [], volumes: [], runTags: [] });
  });
});
