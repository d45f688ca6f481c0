import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeImages, requireEngine } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { exportRootfs, subsetProblems } from '../helpers/rootfs.js';
import { freePort, runSlim, type SlimRun } from '../helpers/slim.js';
import { skopeoInspect } from '../helpers/validate.js';
import { startRegistry } from '../helpers/registry.js';
import { parseTraceText } from '../../src/trace/jsonl.js';

/**
 * --runtime oci on a machine where no engine answers: slim unpacks the image into OCI bundles
 * and runs them with runc. The fixtures and the faithful-subset check use Docker; the slim runs
 * never reach an engine (DOCKER_HOST and CONTAINER_HOST point at nothing).
 */

const work = mkdtempSync(join(tmpdir(), 'slim-daemonless-test-'));
const loaded: string[] = [];
const archives = new Map<string, string>();

beforeAll(() => {
  requireEngine();
  try {
    execFileSync('runc', ['--version'], { stdio: 'pipe' });
  } catch {
    throw new Error('the daemonless tests need runc on PATH: apt-get install -y runc (docker.io brings it)');
  }
  for (const f of ['shell-job', 'python-http']) {
    const file = join(work, `${f}.oci.tar`);
    execFileSync('skopeo', ['copy', '-q', `docker-daemon:${fixtureTag(f)}`, `oci-archive:${file}:v1`], { stdio: 'pipe' });
    archives.set(f, file);
  }
}, 300_000);
afterAll(() => {
  removeImages(loaded);
  rmSync(work, { recursive: true, force: true });
});

/** A run with no engine to reach, its temp files in a directory of its own. */
async function daemonless(args: string[], opts: { env?: Record<string, string>; onStderr?: (all: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<SlimRun & { tmp: string }> {
  const tmp = mkdtempSync(join(work, 'tmp-'));
  const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', CONTAINER_HOST: 'unix:///nonexistent/podman.sock', TMPDIR: tmp, ...opts.env };
  return { ...(await runSlim(args, { env, ...(opts.onStderr ? { onStderr: opts.onStderr } : {}) })), tmp };
}

/** Nothing of the run is left: no temp dir (images, bundles, volumes, runc state), no runc process, no mount. */
function expectNothingLeft(r: { tmp: string }): void {
  expect(readdirSync(r.tmp)).toEqual([]);
  const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(r.tmp) && !l.startsWith('ps '));
  expect(procs).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(r.tmp))).toEqual([]);
}

/** Load a docker-archive output into Docker, to compare the files with the fixture's as the engine exports them. */
function loadIntoDocker(file: string, tag: string): void {
  docker(['load', '-i', file]);
  loaded.push(tag);
}

function expectBuilt(r: SlimRun, runtimeLine: RegExp): NonNullable<SlimRun['report']> {
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(runtimeLine);
  const rep = r.report!;
  expect(rep.verify).toMatchObject({ original: 'pass', slim: 'pass' });
  expect(rep.repair.result).toBe('not-needed');
  return rep;
}

describe('--runtime oci: no engine at all', () => {
  it('slims a job from an oci-archive to an oci-archive: its check passes, its files are a faithful subset, and the image is the one Docker gives', async () => {
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const input = archives.get('shell-job')!;
    const [out, outDocker, tarOut] = [join(work, 'job-slim.oci.tar'), join(work, 'job-slim-docker.oci.tar'), join(work, 'job-slim.docker.tar')];
    const [ot, dt] = [join(work, 'job-oci.trace'), join(work, 'job-docker.trace')];
    const tag = `slim-test/shell-job:oci-${freePort()}`;
    const [o, d] = await Promise.all([
      daemonless(['build', `oci-archive:${input}:v1`, '--runtime', 'oci', '--probe', 'both', '--no-repair', '--tag', tag, '-o', `oci-archive:${out}`, '-o', `docker-archive:${tarOut}`, '--trace-out', ot, '--json'], { env: epoch }),
      runSlim(['build', `oci-archive:${input}:v1`, '--runtime', 'docker', '--probe', 'both', '--no-repair', '--tag', tag, '-o', `oci-archive:${outDocker}`, '--trace-out', dt, '--json'], { env: epoch }),
    ]);
    const rep = expectBuilt(o, /runtime: runc version \S+ at \/\S+runc, daemonless \(--runtime oci\)/);
    expect(d.code, d.stderr).toBe(0);
    // The same kernel, runc and sensor: the job opens the same files, and the same image comes out.
    const seen = async (file: string) => new Set((await parseTraceText(readFileSync(file, 'latin1'))).records.map((x) => `${x.op} ${x.path}`));
    expect([...(await seen(ot))].sort()).toEqual([...(await seen(dt))].sort());
    expect(rep.output.id).toBe(d.report!.output.id);
    expect(skopeoInspect(`oci-archive:${out}`).Digest).toBe(skopeoInspect(`oci-archive:${outDocker}`).Digest);
    loadIntoDocker(tarOut, tag);
    const [orig, thin] = await Promise.all([exportRootfs(fixtureTag('shell-job')), exportRootfs(tag)]);
    const subset = subsetProblems(orig, thin);
    expect(subset.problems).toEqual([]);
    expect(subset.files).toBe(rep.output.files);
    expectNothingLeft(o);
  });

  it('a hardened service passes its checks as a non-root user under its seccomp profile and a read-only root', async () => {
    const port = freePort();
    const out = join(work, 'py-slim.docker.tar');
    const tag = `slim-test/python-http:oci-hardened-${port}`;
    const r = await daemonless(['build', `oci-archive:${archives.get('python-http')!}:v1`, '--runtime', 'oci', '--no-repair', '--tag', tag, '-o', `docker-archive:${out}`,
      '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /health', '--harden', '--user', '1000:1000', '--seccomp-out', join(work, 'py.seccomp.json'), '--json']);
    const rep = expectBuilt(r, /runtime: runc version \S+ at \S+, daemonless \(--runtime oci\)/);
    expect(rep.harden!.steps.find((s) => s.step === 'seccomp')).toMatchObject({ result: 'pass' });
    expect(rep.harden!.readOnly.result).toBe('pass');
    loadIntoDocker(out, tag);
    expect(JSON.parse(docker(['image', 'inspect', tag]))[0].Config.User).toBe('1000:1000');
    const [orig, thin] = await Promise.all([exportRootfs(fixtureTag('python-http')), exportRootfs(tag)]);
    expect(subsetProblems(orig, thin).problems).toEqual([]);
    expectNothingLeft(r);
  });

  it('slims an image from a registry into the registry, its evidence attached, with nothing but runc', async () => {
    const reg = await startRegistry();
    try {
      execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci-archive:${archives.get('shell-job')!}:v1`, `docker://${reg.host}/job:v1`], { stdio: 'pipe' });
      const r = await daemonless(['build', `registry:${reg.host}/job:v1`, '--runtime', 'oci', '--no-repair', '-o', `registry:${reg.host}/job:slim`, '--json']);
      const rep = expectBuilt(r, /daemonless \(--runtime oci\)/);
      // skopeo, not slim, says what the registry holds.
      const pushed = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/job:slim`], { encoding: 'utf8' })) as { Digest: string };
      expect(rep.output.files).toBeGreaterThan(0);
      expect(r.stderr).toMatch(new RegExp(`pushed\\s+${reg.host.replace(/[.]/g, '\\.')}/job:slim@${pushed.Digest}`));
      expect(r.stderr).toMatch(/attached application\/vnd\.slim\.evidence\.v1 sha256:/);
      expectNothingLeft(r);
    } finally {
      await reg.stop();
    }
  });

  it('two builds at once each have their own images, bundles and runc state', async () => {
    const input = archives.get('shell-job')!;
    const outs = [join(work, 'twice-1.oci.tar'), join(work, 'twice-2.oci.tar')];
    const runs = await Promise.all(outs.map((o) => daemonless(['build', `oci-archive:${input}:v1`, '--runtime', 'oci', '--no-repair', '-o', `oci-archive:${o}`, '--json'], { env: { SOURCE_DATE_EPOCH: '1700000000' } })));
    for (const r of runs) expectBuilt(r, /daemonless \(--runtime oci\)/);
    expect(runs[0]!.report!.output.id).toBe(runs[1]!.report!.output.id);
    for (const r of runs) expectNothingLeft(r);
  });

  it('Ctrl-C while the probe runs a service: exit 130, the container stopped, its bundle, volumes and the run\'s store removed', async () => {
    const port = freePort();
    const out = join(work, 'never.oci.tar');
    let sent = false;
    const r = await daemonless(['build', `oci-archive:${archives.get('python-http')!}:v1`, '--runtime', 'oci', '--no-repair', '-o', `oci-archive:${out}`,
      '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /never-there'], {
      onStderr: (all, kill) => {
        if (!sent && /probe container \w+ started/.test(all)) {
          sent = true;
          setTimeout(() => kill('SIGINT'), 1500);
        }
      },
    });
    expect(sent, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('slim: cleanup done: everything slim created was removed');
    expect(existsSync(out)).toBe(false);
    expectNothingLeft(r);
  });

  it('an image from the engine, the engine as the output, or --keep-failed is a usage error saying what works', async () => {
    const fromEngine = await daemonless(['build', fixtureTag('shell-job'), '--runtime', 'oci', '-o', `oci-archive:${join(work, 'x.tar')}`]);
    expect(fromEngine.code, fromEngine.stderr).toBe(2);
    expect(fromEngine.stderr).toMatch(/slim: error: .*shell-job\S*: the daemonless runtime has no engine to take an image from/);
    expect(fromEngine.stderr).toMatch(/docker-archive:FILE, oci-archive:FILE, oci:DIR or registry:/);
    const toEngine = await daemonless(['build', `oci-archive:${archives.get('shell-job')!}:v1`, '--runtime', 'oci', '--tag', 'slim-test/shell-job:nowhere']);
    expect(toEngine.code, toEngine.stderr).toBe(2);
    expect(toEngine.stderr).toMatch(/no engine to keep the slim image in: name its outputs with -o/);
    const keep = await daemonless(['build', `oci-archive:${archives.get('shell-job')!}:v1`, '--runtime', 'oci', '-o', `oci-archive:${join(work, 'k.tar')}`, '--keep-failed']);
    expect(keep.code, keep.stderr).toBe(2);
    expect(keep.stderr).toMatch(/--keep-failed keeps a failed image in the engine, and the daemonless runtime has none/);
    expectNothingLeft(fromEngine);
    expectNothingLeft(toEngine);
    expectNothingLeft(keep);
  });
});
