import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

const IMAGE = fixtureTag('shell-job');
const BIN = fileURLToPath(new URL('../../bin/slim', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'slim-run-flags-'));
const madeTags: string[] = [];
const volume = `slim-test-run-flags-${process.pid}`;
afterAll(() => {
  removeImages(madeTags);
  docker(['volume', 'rm', '-f', volume]);
  rmSync(work, { recursive: true, force: true });
});

// Exits 0 only when the container got every flag as `docker run` gives it: the job fails on the
// original under the probe, or on either image in verification, when one of them is missing.
const JOB = [
  'set -e',
  '[ "$FROM_FILE" = "a b" ] || exit 10',
  '[ "$OVERRIDE" = cli ] || exit 11',
  'eff=$(awk "/^CapEff/{print \\$2}" /proc/self/status)',
  // NET_ADMIN (bit 12) and SYS_PTRACE (19) were asked for; SYS_ADMIN (21) is the probe's alone.
  '[ $(( 0x$eff >> 12 & 1 )) = 1 ] || exit 12',
  '[ $(( 0x$eff >> 19 & 1 )) = 1 ] || exit 13',
  '[ $(( 0x$eff >> 21 & 1 )) = 0 ] || exit 14',
  'grep -q "^NoNewPrivs:.*1" /proc/self/status || exit 15',
  // The profile refuses chroot, which root may do under the engine's default one.
  'if chroot / /bin/true 2>/dev/null; then exit 16; fi',
  '[ "$(cat /in/marker)" = hello ] || exit 17',
  'if touch /in/new 2>/dev/null; then exit 18; fi',
  '[ "$(stat -c %a /scratch)" = 1770 ] || exit 19',
  'grep " /scratch " /proc/mounts | grep -q size=1024k || exit 20',
  'echo ok > /vol/result',
  'echo done',
].join('\n');

function flags(): string[] {
  const dir = join(work, 'in');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'marker'), 'hello\n');
  writeFileSync(join(work, 'app.env'), '# the app\nFROM_FILE=a b\nOVERRIDE=file\n');
  writeFileSync(join(work, 'seccomp.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chroot'], action: 'SCMP_ACT_ERRNO' }] }));
  return [
    '--env-file', join(work, 'app.env'), '-e', 'OVERRIDE=cli',
    '--cap-add', 'NET_ADMIN', '--cap-add', 'sys_ptrace',
    '--security-opt', 'no-new-privileges', '--security-opt', `seccomp=${join(work, 'seccomp.json')}`,
    '--mount', `type=bind,source=${dir},target=/in,readonly`,
    '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1770',
    '--mount', `type=volume,source=${volume},target=/vol`,
    '--entrypoint', JSON.stringify(['/bin/sh', '-c', JOB]),
  ];
}

describe('--env-file, --cap-add, --security-opt and --mount', () => {
  it('reach the probe run and both verification runs as docker run gives them', async () => {
    const tag = `slim-test/shell-job:run-flags-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', IMAGE, '--tag', tag, '--no-repair', '--json', ...flags()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.verify.checks.map((c) => [c.name, c.original, c.slim])).toEqual([['exit code', 'pass', 'pass'], ['stdout', 'pass', 'pass'], ['output /vol', 'pass', 'pass']]);
    expect(r.stderr).toMatch(/probe container [0-9a-f]{12} started \(both, cap SYS_ADMIN\+SYS_PTRACE\)/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    // The bind was read-only and the volume is the run's own copy: the user's are as they were.
    expect(readdirSync(join(work, 'in'))).toEqual(['marker']);
    expect(() => docker(['volume', 'inspect', volume])).toThrow();
  });

  it('the job notices a missing flag: without --cap-add NET_ADMIN it fails on the original under the probe', async () => {
    const args = flags();
    args.splice(args.indexOf('NET_ADMIN') - 1, 2);
    const r = await runSlim(['build', IMAGE, '--tag', `slim-test/shell-job:run-flags-${freePort()}`, '--no-repair', ...args]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/slim: error: the job failed on the original image under the probe: exit code 12/);
  });

  it('a bad value is a usage error before the engine is asked anything', async () => {
    for (const [flag, value, message] of [
      ['--cap-add', 'NET_ADMN', '--cap-add NET_ADMN: no such capability'],
      ['--security-opt', 'seccomp=/nonexistent/profile.json', 'cannot read --security-opt seccomp /nonexistent/profile.json: ENOENT'],
      ['--mount', 'type=bind,source=/nonexistent/dir,target=/in', '--mount type=bind,source=/nonexistent/dir,target=/in: bind source path does not exist: /nonexistent/dir'],
    ]) {
      const r = await runSlim(['build', 'slim-test/never-read:1', flag!, value!], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'))).toEqual([`slim: error: ${message}`]);
    }
  });

  it('a missing --env-file is slim\'s usage error, not node\'s: the command slim ends node\'s options first', () => {
    // Node itself would take the flag (and exit 9) were the CLI run as `node main.js --env-file …`.
    const r = spawnSync(BIN, ['build', 'slim-test/never-read:1', '--env-file', '/nonexistent/app.env'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe('slim: error: cannot read --env-file /nonexistent/app.env: ENOENT\nslim: hint: slim build --help lists the options\n');
  });
});
