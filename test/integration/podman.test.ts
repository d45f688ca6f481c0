import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODMAN_SOCKET, leftovers, podman, podmanLeftovers, removeImages, requirePodman } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { copyToPodman, exportPodmanRootfs } from '../helpers/podman.js';
import { subsetProblems, type FsEntry } from '../helpers/rootfs.js';
import { freePort, runSlim, type SlimRun } from '../helpers/slim.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { ensureProbeImage } from '../../src/probe/probe-image.js';
import { silentLogger } from '../../src/log.js';
import { parseTraceText } from '../../src/trace/jsonl.js';

// The tests' own service, whatever else answers on this machine: slim is sent there explicitly.
const ON_PODMAN = { CONTAINER_HOST: `unix://${PODMAN_SOCKET}` };
const FIXTURES = ['python-http', 'node-http', 'shell-job', 'busybox-scratch'];
const podmanTags: string[] = [];
const dockerTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-podman-test-'));
// A rootless service opens the seccomp profile written here as its own user.
chmodSync(work, 0o711);
let rootless = false;

beforeAll(async () => {
  requirePodman();
  rootless = podman(['info', '--format', '{{.Host.Security.Rootless}}']).trim() === 'true';
  for (const f of FIXTURES) copyToPodman(fixtureTag(f));
  // Built by slim through Podman's build API (not copied from Docker): that is part of probing on Podman.
  await ensureProbeImage(new DockerRuntime({ socketPath: PODMAN_SOCKET }), silentLogger, new AbortController().signal);
});

afterAll(() => {
  for (const t of podmanTags) {
    try {
      podman(['rmi', t]);
    } catch {
      /* already gone */
    }
  }
  removeImages(dockerTags);
  rmSync(work, { recursive: true, force: true });
});

const curl = (port: number, path: string, want: string) => `curl -fsS --max-time 5 http://127.0.0.1:${port}${path} | grep -q '${want}'`;

function onPodman(args: string[], env: Record<string, string> = {}): Promise<SlimRun> {
  return runSlim([args[0]!, '--runtime', 'podman', ...args.slice(1)], { env: { ...ON_PODMAN, ...env } });
}

/** Every file of the slim image is in the original with the same content, type, mode and owner, as Podman exports both. */
async function expectFaithfulSubset(original: string, slim: string): Promise<Map<string, FsEntry>> {
  const [orig, thin] = await Promise.all([exportPodmanRootfs(original), exportPodmanRootfs(slim)]);
  expect(thin.size).toBeGreaterThan(0);
  expect(subsetProblems(orig, thin).problems).toEqual([]);
  return thin;
}

/** Nothing of the run is left in Podman: no container or volume with its label, no run tag, no untagged image of its source. */
function expectNothingLeft(r: SlimRun, source: string): void {
  expect(podmanLeftovers(r.runId)).toEqual({ containers: [], volumes: [], runTags: [] });
  expect(podman(['images', '-q', '--filter', 'dangling=true', '--filter', `label=io.slim.source.name=${source}`]).trim()).toBe('');
}

function expectBuilt(r: SlimRun, tag: string): NonNullable<SlimRun['report']> {
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/engine: Podman \S+ \(API [\d.]+\) at unix:\/\/\S+ \(--runtime podman; CONTAINER_HOST\)/);
  const rep = r.report!;
  expect(rep.verify).toMatchObject({ original: 'pass', slim: 'pass' });
  expect(rep.repair.result).toBe('not-needed');
  // Rootful Podman grants both capabilities; rootless has no CAP_SYS_ADMIN for fanotify, so auto takes strace.
  expect(rep.probe.backend).toBe(rootless ? 'strace' : 'both');
  // The podman CLI prints the ID without its algorithm.
  expect(`sha256:${JSON.parse(podman(['image', 'inspect', tag]))[0].Id}`).toBe(rep.output.id);
  return rep;
}

describe('slim build --runtime podman (the Docker-compatible API of a Podman service)', () => {
  it('a service under --harden: checks pass on the slim image under its seccomp profile and read-only, its HEALTHCHECK is run, its files are the original\'s', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:podman-hardened-${port}`;
    podmanTags.push(tag);
    const seccomp = join(work, 'python.seccomp.json');
    const r = await onPodman(['build', fixtureTag('python-http'), '--no-repair', '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /health',
      '--harden', '--user', '1000:1000', '--seccomp-out', seccomp, '--json']);
    const rep = expectBuilt(r, tag);
    // Podman's compatible inspect leaves HEALTHCHECK out; slim still finds and runs it.
    expect(rep.verify.healthcheck).toEqual({ original: 'pass', slim: 'pass' });
    const h = rep.harden!;
    expect(h.steps.find((s) => s.step === 'seccomp')).toMatchObject({ result: 'pass' });
    expect(h.readOnly.result).toBe('pass');
    expect(JSON.parse(podman(['image', 'inspect', tag]))[0].Config.User).toBe('1000:1000');
    // The profile Podman ran the checks under refuses what the app never did.
    const run = (code: string) => podman(['run', '--rm', '--security-opt', `seccomp=${seccomp}`, '--entrypoint', 'python3', tag, '-c', code]).trim();
    expect(run('print(6*7)')).toBe('42');
    expect(run('import os\ntry:\n os.mkdir("/tmp/x")\nexcept OSError as e:\n print(e.errno)')).toBe('1');
    const fs = await expectFaithfulSubset(fixtureTag('python-http'), tag);
    expect([...fs.values()].filter((e) => e.type === 'file' || e.type === 'link')).toHaveLength(rep.output.files);
    expectNothingLeft(r, fixtureTag('python-http'));
  });

  it('a service with a non-root USER keeps what it reads and runs as that user', async () => {
    const port = freePort();
    const tag = `slim-test/node-http:podman-${port}`;
    podmanTags.push(tag);
    const r = await onPodman(['build', fixtureTag('node-http'), '--no-repair', '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', curl(port, '/', 'hello from node-http'), '--json']);
    expectBuilt(r, tag);
    expect(JSON.parse(podman(['image', 'inspect', tag]))[0].Config.User).toBe('app');
    const fs = await expectFaithfulSubset(fixtureTag('node-http'), tag);
    expect(fs.has('/app/lib/greet.js')).toBe(true);
    expectNothingLeft(r, fixtureTag('node-http'));
  });

  it('a job slimmed on Podman and on Docker: the same trace, the same image digest', async () => {
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const [pt, dt] = [join(work, 'job-podman.jsonl'), join(work, 'job-docker.jsonl')];
    const [ptag, dtag] = [`slim-test/shell-job:podman-${freePort()}`, `slim-test/shell-job:docker-${freePort()}`];
    podmanTags.push(ptag);
    dockerTags.push(dtag);
    // The backend is part of the image's provenance: both engines use the one Podman grants.
    const probe = ['--probe', rootless ? 'strace' : 'both'];
    const [p, d] = await Promise.all([
      onPodman(['build', fixtureTag('shell-job'), ...probe, '--no-repair', '--tag', ptag, '--trace-out', pt, '--json'], epoch),
      runSlim(['build', fixtureTag('shell-job'), '--runtime', 'docker', ...probe, '--no-repair', '--tag', dtag, '--trace-out', dt, '--json'], { env: epoch }),
    ]);
    const rep = expectBuilt(p, ptag);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/engine: Docker \S+ .*\(--runtime docker/);
    // The same kernel, runc and sensor under both engines: the app opens the same files in the same ways.
    const seen = async (file: string) => new Set((await parseTraceText(readFileSync(file, 'latin1'))).records.map((x) => `${x.op} ${x.path}`));
    expect([...(await seen(pt))].sort()).toEqual([...(await seen(dt))].sort());
    expect(rep.output.id).toBe(d.report!.output.id);
    expect(rep.output.digest).toBe(d.report!.output.digest);
    await expectFaithfulSubset(fixtureTag('shell-job'), ptag);
    expectNothingLeft(p, fixtureTag('shell-job'));
    expect(leftovers(d.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a named volume reaches the job as a copy, through the archive API, and the user\'s volume stays as it was', async () => {
    const [vol, image] = [`slim-test-vol-${freePort()}`, fixtureTag('busybox-scratch')];
    const tag = `slim-test/busybox-scratch:podman-vol-${freePort()}`;
    podmanTags.push(tag);
    podman(['volume', 'create', vol]);
    try {
      const sh = (script: string) => podman(['run', '--rm', '-v', `${vol}:/v`, '--entrypoint', '/bin/sh', image, '-c', script]);
      sh('echo kept > /v/a.txt && busybox chown 1234:55 /v/a.txt');
      const r = await onPodman(['build', image, '--no-repair', '--tag', tag, '-v', `${vol}:/v`, '--entrypoint', '["/bin/sh","-c","test \\"$(cat /v/a.txt)\\" = kept && echo changed > /v/a.txt"]', '--json']);
      expectBuilt(r, tag);
      expect(sh('cat /v/a.txt; ls -ln /v/a.txt')).toMatch(/^kept\n\S+\s+1\s+1234\s+55\s/);
      expectNothingLeft(r, image);
    } finally {
      podman(['volume', 'rm', '-f', vol]);
    }
  });

  it('two builds at once of one image: each holds it by its own run tag, both outputs stay, nothing else does', async () => {
    const tags = [1, 2].map((i) => `slim-test/busybox-scratch:podman-twin${i}-${freePort()}`);
    podmanTags.push(...tags);
    const runs = await Promise.all(tags.map((tag) => onPodman(['build', fixtureTag('busybox-scratch'), '--tag', tag, '--json'], { SOURCE_DATE_EPOCH: '1700000000' })));
    const ids = runs.map((r, i) => expectBuilt(r, tags[i]!).output.id);
    expect(ids[0]).toBe(ids[1]);
    for (const r of runs) expectNothingLeft(r, fixtureTag('busybox-scratch'));
  });
});

describe('choosing the engine', () => {
  it('--runtime podman without a Podman service fails at once, naming the socket and how to start one', async () => {
    const r = await runSlim(['build', 'anything:1', '--runtime', 'podman', '--smoke', 'true'], { env: { CONTAINER_HOST: 'unix:///nonexistent/podman.sock' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/slim: error: cannot reach the container engine at unix:\/\/\/nonexistent\/podman.sock \(CONTAINER_HOST\)/);
    expect(r.stderr).toMatch(/slim: hint: start Podman's service: `podman system service --time=0 unix:\/\/\/run\/podman\/podman.sock &`/);
  });

  it('an unknown --runtime is a usage error that lists the choices', async () => {
    const r = await runSlim(['build', 'anything:1', '--runtime', 'runc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slim: error: option '--runtime <engine>' argument 'runc' is invalid|--runtime must be one of docker, podman, oci, auto, not "runc"/);
  });
});
