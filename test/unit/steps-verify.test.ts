import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { baselineOf, firstVerdict, verifyPlanOf, verifySlim } from '../../src/pipeline/verify-step.js';
import type { BuildDeps } from '../../src/pipeline/build-types.js';
import type { Check } from '../../src/verify/checks.js';
import type { ContainerConfig } from '../../src/image/types.js';
import type { RunSettings } from '../../src/runtime/run-settings.js';
import { RUN_LABEL, type RunSpec } from '../../src/runtime/runtime.js';
import { Scope } from '../../src/runtime/scope.js';
import { SlimError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { MemoryRuntime, type Script } from '../helpers/memory-runtime.js';
import { mkLayer } from '../helpers/layers.js';

const settings: RunSettings = { env: ['MODE=test'], volumes: [], addHosts: [], publish: [], readOnly: false, tmpfs: [], stopTimeout: 7 };
const job: Check = { kind: 'job', compareOutputs: ['/out/result.txt'] };
const config: ContainerConfig = { Entrypoint: ['/app/run'] };
const good: Script = { exitCode: 0, stdout: 'report: 42\n', files: { '/out/result.txt': '42\n' } };

let scope: Scope;
afterEach(async () => {
  expect(await scope.dispose()).toEqual([]);
});

/** An original and a slim image whose containers do what the test says. */
function engine(original: Script, slim: Script, imageConfig: ContainerConfig = config) {
  const mem = new MemoryRuntime();
  // The slim image's config differs from the original's by its labels, as slim's does: two images.
  const originalId = mem.addImage(['app:1'], imageConfig);
  const slimId = mem.addImage([], { ...imageConfig, Labels: { 'io.slim.source.name': 'app:1' } });
  mem.script(originalId, () => original);
  mem.script(slimId, () => slim);
  scope = new Scope();
  const deps: BuildDeps = { runtime: mem, log: silentLogger, scope };
  return { mem, originalId, slimId, deps };
}

const runs = (mem: MemoryRuntime) => mem.calls.filter((c) => c.op === 'run').map((c) => c.args[0] as RunSpec);
const removed = (mem: MemoryRuntime) => mem.calls.filter((c) => c.op === 'container.remove').length;
const leftBehind = async (mem: MemoryRuntime) => mem.listByLabel(`${RUN_LABEL}=${scope.id}`);

describe('baselineOf and verifySlim, for a job', () => {
  it('pass when the slim image exits as the original did, with the same stdout and output files', async () => {
    const { mem, originalId, slimId, deps } = engine(good, good);
    const plan = verifyPlanOf(job, settings, config);
    const baseline = await baselineOf(plan, originalId, undefined, deps);
    expect(baseline.probed).toBe(false);
    expect(baseline.original.exitCode).toBe(0);
    expect(baseline.limits).toEqual({});
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });

    const verdict = await verifySlim(plan, baseline, slimId, deps);
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toBe('job exited 0 with the same output as the original');
    expect(verdict.checks.map((c) => [c.name, c.original, c.slim])).toEqual([
      ['exit code', 'pass', 'pass'],
      ['stdout', 'pass', 'pass'],
      ['output /out/result.txt', 'pass', 'pass'],
    ]);
    // Both ran plainly, as the user asked, each labelled with the run and its role, and both were removed.
    const [o, s] = runs(mem);
    expect([o?.image, s?.image]).toEqual([originalId, slimId]);
    expect(o).toMatchObject({ env: ['MODE=test'], stopTimeout: 7, labels: { [RUN_LABEL]: scope.id, [`${RUN_LABEL}.role`]: 'verify-original' } });
    expect(o?.entrypoint).toBeUndefined();
    expect(s?.labels[`${RUN_LABEL}.role`]).toBe('verify-slim');
    expect(removed(mem)).toBe(2);
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });

  it('fail when the slim image exits 1, with a summary naming the exit code', async () => {
    const { mem, originalId, slimId, deps } = engine(good, { ...good, exitCode: 1, stderr: 'error while loading shared libraries: libssl.so.3\n' });
    const plan = verifyPlanOf(job, settings, config);
    const verdict = await verifySlim(plan, await baselineOf(plan, originalId, undefined, deps), slimId, deps);
    expect(verdict.passed).toBe(false);
    expect(verdict.summary).toBe('exit code: exited 1, the original 0: error while loading shared libraries: libssl.so.3');
    expect(verdict.checks[0]).toMatchObject({ name: 'exit code', original: 'pass', slim: 'fail' });
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });

  it('fail when an output file differs, naming the file', async () => {
    const { mem, originalId, slimId, deps } = engine(good, { ...good, files: { '/out/result.txt': '41\n' } });
    const plan = verifyPlanOf(job, settings, config);
    const verdict = await verifySlim(plan, await baselineOf(plan, originalId, undefined, deps), slimId, deps);
    expect(verdict.passed).toBe(false);
    expect(verdict.summary).toBe('output /out/result.txt: /out/result.txt differs (content)');
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });

  it("compare the image's VOLUME as the job's output", async () => {
    const withVolume: ContainerConfig = { ...config, Volumes: { '/data': {} } };
    const { originalId, slimId, deps } = engine({ ...good, files: { ...good.files, '/data/state.db': 'v2' } }, { ...good, files: { ...good.files, '/data/state.db': 'v1' } }, withVolume);
    const plan = verifyPlanOf(job, settings, withVolume);
    expect(plan.check).toEqual({ ...job, mountOutputs: ['/data'] });
    const verdict = await verifySlim(plan, await baselineOf(plan, originalId, undefined, deps), slimId, deps);
    expect(verdict.passed).toBe(false);
    expect(verdict.summary).toBe('output /data: /data/state.db differs (content)');
  });

  it('BASELINE_FAILED when the original fails its own check, and nothing is left behind', async () => {
    const { mem, originalId, deps } = engine({ exitCode: 2, stderr: 'no config\n' }, good);
    const err = await baselineOf(verifyPlanOf(job, settings, config), originalId, undefined, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlimError);
    expect((err as SlimError).code).toBe('BASELINE_FAILED');
    expect((err as SlimError).message).toContain('job exited with code 2');
    expect(runs(mem)).toHaveLength(1);
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });

  it('BASELINE_FAILED when the original leaves nothing at a --compare-output path', async () => {
    const { originalId, deps } = engine({ exitCode: 0 }, good);
    const err = await baselineOf(verifyPlanOf(job, settings, config), originalId, undefined, deps).catch((e: unknown) => e);
    expect((err as SlimError).code).toBe('BASELINE_FAILED');
    expect((err as SlimError).message).toContain('the job left nothing at /out/result.txt (--compare-output)');
  });

  it("run each image on a copy of the user's named volume: the user's is never written, the copies go", async () => {
    const mounted = new Map<string, boolean>();
    const writes = (spec: RunSpec): Script => {
      const copy = spec.binds?.[0]?.split(':')[0] ?? '';
      // What the copy holds when the job starts: the user's seed, copied through the archive API.
      mounted.set(spec.labels[`${RUN_LABEL}.role`]!, mem.volumes.get(copy)?.files.get('/seed')?.body?.toString() === 'seed');
      return { ...good, files: { ...good.files, '/cache/written': 'by the job' } };
    };
    const { mem, originalId, slimId, deps } = engine(good, good);
    mem.script(originalId, writes);
    mem.script(slimId, writes);
    await mem.createVolume('cache', {});
    const seeder = await mem.create({ image: mem.addImage(['busybox:1']), volumes: [{ source: 'cache', target: '/cache', readOnly: false }], labels: {} });
    await seeder.putArchive('/cache', Readable.from([await mkLayer([{ path: 'seed', body: 'seed' }])]));
    await seeder.remove();

    const withCache = { ...settings, volumes: ['cache:/cache'] };
    const plan = verifyPlanOf(job, withCache, config);
    expect(plan.check).toEqual({ ...job, mountOutputs: ['/cache'] });
    const verdict = await verifySlim(plan, await baselineOf(plan, originalId, undefined, deps), slimId, deps);
    expect(verdict.passed).toBe(true);
    expect(Object.fromEntries(mounted)).toEqual({ 'verify-original': true, 'verify-slim': true });
    expect(runs(mem).map((r) => r.binds?.[0])).not.toContain('cache:/cache');
    expect([...mem.volumes.get('cache')!.files.keys()]).toEqual(['/seed']);
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });
});

describe('firstVerdict: the probe run of the same checks stands in for the baseline', () => {
  const roles = (mem: MemoryRuntime) => runs(mem).map((r) => r.labels[`${RUN_LABEL}.role`]);

  it('the slim image that passes against the probed run: the original is not run again', async () => {
    const { mem, originalId, slimId, deps } = engine(good, good);
    const plan = verifyPlanOf(job, settings, config);
    const probed = (await baselineOf(plan, originalId, undefined, deps)).original;
    const before = roles(mem).length;
    const { baseline, verdict } = await firstVerdict(plan, originalId, probed, slimId, deps);
    expect(verdict.passed).toBe(true);
    expect(baseline).toMatchObject({ probed: true, original: probed });
    expect(roles(mem).slice(before)).toEqual(['verify-slim']);
    expect(await leftBehind(mem)).toEqual({ containers: [], volumes: [] });
  });

  it('the slim image that fails against the probed run: the original runs without the probe and is the baseline', async () => {
    const { mem, originalId, slimId, deps } = engine(good, good);
    const plan = verifyPlanOf(job, settings, config);
    // What the app printed under the probe differs from what it prints without it.
    const plain = (await baselineOf(plan, originalId, undefined, deps)).original;
    const probed = { ...plain, stdout: Buffer.from('report: 42 (traced)\n') };
    const before = roles(mem).length;
    const { baseline, verdict } = await firstVerdict(plan, originalId, probed, slimId, deps);
    expect(verdict.passed).toBe(true);
    expect(baseline.probed).toBe(false);
    expect(baseline.original.stdout.toString()).toBe('report: 42\n');
    expect(roles(mem).slice(before)).toEqual(['verify-slim', 'verify-original']);
  });

  it('a slim image that fails against both: the verdict is against the plain run', async () => {
    const { originalId, slimId, deps } = engine(good, { ...good, exitCode: 3 });
    const plan = verifyPlanOf(job, settings, config);
    const probed = (await baselineOf(plan, originalId, undefined, deps)).original;
    const { baseline, verdict } = await firstVerdict(plan, originalId, probed, slimId, deps);
    expect(baseline.probed).toBe(false);
    expect(verdict.passed).toBe(false);
    expect(verdict.summary).toMatch(/^exit code: exited 3, the original 0/);
  });
});
