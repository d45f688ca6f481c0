import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildReport, type BuildOutcome } from '../../src/pipeline/build-report.js';
import { PhaseClock } from '../../src/pipeline/phase-clock.js';
import type { Checked } from '../../src/pipeline/verify-run.js';
import type { Verdict } from '../../src/verify/checks.js';
import { Selection } from '../../src/closure/selection.js';
import { flatten } from '../../src/rootfs/flatten.js';
import { planPack } from '../../src/pack/plan.js';
import { buildImage } from '../../src/pack/image-builder.js';
import type { ImageConfig } from '../../src/image/types.js';
import type { AccessRecord } from '../../src/trace/record.js';
import { dir, file } from '../helpers/tar-entries.js';

const T0 = Date.UTC(2024, 0, 1);
const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000);
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  at(0);
});
afterEach(() => {
  vi.useRealTimers();
});

const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/app/run'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] } };
const index = flatten([[
  dir('app/'), file('app/run', 30, 0o755), file('app/server', 2000, 0o755), dir('etc/'), file('etc/passwd', 40),
  dir('usr/'), dir('usr/lib/'), file('usr/lib/libx.so', 3000), dir('usr/share/'), dir('usr/share/doc/'), file('usr/share/doc/big.txt', 5000),
]]);
const selection = new Selection();
for (const p of ['/app/run', '/app/server', '/etc/passwd']) selection.add(p, { why: 'traced' });
for (const p of ['/app', '/etc']) selection.add(p, { why: 'parent' });
const plan = planPack(index, selection, config, { provenance: { sourceName: 'app:1', sourceDigest: `sha256:${'d'.repeat(64)}`, slimVersion: '0.0.0', probe: 'strace' } });
const layer = { path: '/nowhere/layer.tar.gz', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' as const, diffId: `sha256:${'b'.repeat(64)}` as const, digest: `sha256:${'c'.repeat(64)}` as const, size: 1234, uncompressedSize: 4096 };
const built = buildImage(plan, layer);
const rec = (path: string): AccessRecord => ({ pid: 1, op: 'open', path, ok: true, via: 'strace' });

const original: Checked = {
  passed: true, summary: 'job exited 0', checks: [{ name: 'exit code', kind: 'exit', passed: true, attempts: 1, detail: 'exited 0' }],
  exitCode: 0, stdout: Buffer.from('ok\n'), stderr: Buffer.alloc(0), output: Buffer.from('ok\n'), outputs: new Map(), seconds: 1, health: { result: 'pass', detail: 'HEALTHCHECK exited 0' },
};
const exitCheck = { name: 'exit code', original: 'pass', slim: 'pass', detail: 'both exited 0' } as const;
const passed: Verdict = { passed: true, summary: 'job exited 0 with the same output as the original', checks: [exitCheck, { name: 'HEALTHCHECK', original: 'pass', slim: 'pass', detail: 'HEALTHCHECK exited 0' }] };

function outcome(o: Partial<BuildOutcome> = {}): BuildOutcome {
  return {
    input: 'app:1',
    opened: { inspect: { id: `sha256:${'e'.repeat(64)}`, repoTags: ['app:1'], size: 100_000_000, os: 'linux', architecture: 'amd64', config: config.config! }, img: { config, configRaw: Buffer.from('{}'), configDigest: `sha256:${'e'.repeat(64)}`, layerCount: 3, index } },
    trace: { records: [], backend: 'strace', summary: 'job exited 0', skippedLines: 2 },
    records: [rec('/app/run'), rec('/app/run'), rec('/etc/passwd')],
    closure: { selection, presets: { certs: 1 }, packages: [], excluded: 1, warnings: ['libmissing.so.1 not found'] },
    baseline: { original, limits: {}, probed: false },
    verdict: passed,
    repair: { result: 'not-needed', rounds: 0, added: [] },
    harden: null,
    packed: { plan, layer, built, slimId: built.configDigest },
    size: 10_000_000,
    budget: { maxSize: 50_000_000, broken: [] },
    written: ['docker:app:slim'],
    engineRef: 'app:slim',
    sbom: { packages: 3 },
    clock: new PhaseClock(),
    ...o,
  };
}

describe('buildReport', () => {
  it('an image that passed and fits its budget is ok: sizes, ratios and counts come from the outcomes', () => {
    const r = buildReport(outcome());
    expect(r.status).toBe('ok');
    expect(r.input).toEqual({ ref: 'app:1', id: `sha256:${'e'.repeat(64)}`, size: 100_000_000, files: 5, layers: 3 });
    expect(r.output).toEqual({ ref: 'app:slim', written: ['docker:app:slim'], id: built.configDigest, digest: built.manifestDigest, size: 10_000_000, files: 3, entries: 5, layerSize: 1234, layerMediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
    expect(r.reduction).toEqual({ sizeRatio: 10, filesRatio: 5 / 3 });
    expect(r.probe).toEqual({ backend: 'strace', records: 3, distinctPaths: 2, skippedLines: 2, check: 'job exited 0' });
    expect(r.closure).toEqual({ kept: 5, byReason: { traced: 3, parent: 2 }, presets: { certs: 1 }, packages: [], excluded: 1, warnings: ['libmissing.so.1 not found'] });
    expect(r.removed.largestDirs).toEqual([{ path: '/usr/share/doc', bytes: 5000, files: 1 }, { path: '/usr/lib', bytes: 3000, files: 1 }]);
    expect(r.verify).toMatchObject({ original: 'pass', slim: 'pass', details: { original: 'job exited 0', slim: passed.summary }, checks: passed.checks });
    expect(r.sbom).toEqual({ format: 'CycloneDX 1.5', packages: 3 });
    expect(r.harden).toBeNull();
  });

  it('a failed verification is verify-failed, even over budget', () => {
    const verdict: Verdict = { passed: false, summary: 'exit code: exited 1, the original 0', checks: [{ ...exitCheck, slim: 'fail', detail: 'exited 1, the original 0' }] };
    const r = buildReport(outcome({ verdict, budget: { maxSize: 1, broken: ['10.0 MB is over --max-size 1 B'] } }));
    expect(r.status).toBe('verify-failed');
    expect(r.verify.slim).toBe('fail');
    expect(r.verify.details.slim).toBe('exit code: exited 1, the original 0');
  });

  it('a passing image that breaks its budget is over-budget, the budget as given', () => {
    const budget = { minReduction: 20, broken: ['10.0x smaller is under --min-reduction 20x'] };
    const r = buildReport(outcome({ budget }));
    expect(r.status).toBe('over-budget');
    expect(r.budget).toEqual(budget);
  });

  it('the size ratio of an image the engine says is empty is against one byte', () => {
    expect(buildReport(outcome({ size: 0 })).reduction.sizeRatio).toBe(100_000_000);
  });

  it("the slim image's HEALTHCHECK: as compared; not run is none; without the check, the original's", () => {
    const health = (slim: 'pass' | 'fail' | 'not-run') => ({ ...passed, checks: [exitCheck, { name: 'HEALTHCHECK', original: 'pass' as const, slim, detail: '' }] });
    expect(buildReport(outcome({ verdict: health('pass') })).verify.healthcheck).toEqual({ original: 'pass', slim: 'pass' });
    expect(buildReport(outcome({ verdict: health('fail') })).verify.healthcheck).toEqual({ original: 'pass', slim: 'fail' });
    expect(buildReport(outcome({ verdict: health('not-run') })).verify.healthcheck).toEqual({ original: 'pass', slim: 'none' });
    const noHealth = { ...original, health: { result: 'none' as const, detail: 'the image has no HEALTHCHECK' } };
    expect(buildReport(outcome({ verdict: { ...passed, checks: [exitCheck] }, baseline: { original: noHealth, limits: {}, probed: false } })).verify.healthcheck).toEqual({ original: 'none', slim: 'none' });
  });

  it("timings are the clock's: a phase entered twice adds up, one never entered is 0", async () => {
    const clock = new PhaseClock();
    await clock.time('read', async () => at(1.5));
    at(2);
    await clock.time('closure', async () => at(2.25));
    await clock.time('pack', async () => at(3.25));
    await clock.time('verify', async () => at(6.25));
    await clock.time('pack', async () => at(7.25));
    at(10);
    expect(buildReport(outcome({ clock })).timings).toEqual({ read: 1.5, probe: 0, closure: 0.25, pack: 2, verify: 3, repair: 0, total: 10 });
  });
});
