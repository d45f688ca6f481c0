import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture } from '../helpers/fixtures.js';
import { SLIM_BIN, runSlim, type SlimRun } from '../helpers/slim.js';
import type { InspectReport } from '../../src/inspect/analyse.js';
import type { CiReport } from '../../src/inspect/ci-gate.js';

/** Nothing listens there: a run that asks the engine anything fails. */
const NO_ENGINE = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
const DIVE_RULES = ['lowestEfficiency', 'highestWastedBytes', 'highestUserWastedPercent'];
const ALL_RULES = [...DIVE_RULES, 'largestLayer', 'setuidFiles', 'shells', 'packageManagers'];
/** What the fixture's Dockerfile wastes: a 24 MB file deleted, a 213 kB copy overwritten, a 6 MB file re-shipped by chmod. */
const WASTED = 24_000_000 + 213_000 + 6_000_000;

const dir = mkdtempSync(join(tmpdir(), 'slim-inspect-ci-'));
const archive = `docker-archive:${join(dir, 'wasteful.tar')}`;
const lenient = join(dir, 'lenient.yaml');
let image: string;

/** The image's layer sizes as `docker history` prints them, newest first; steps without a layer left out. */
const historySizes = (ref: string): number[] =>
  execFileSync('docker', ['history', '--human=false', '--format', '{{.Size}}', ref], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number).filter((n) => n > 0);

/** The CLI with a working directory of its own, where runSlim has none: for the default ./.dive-ci. */
function slimIn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<SlimRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLIM_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, runId: '' }));
  });
}

/** The rule lines of a run's output, by rule: `STATUS: rule: message`. */
function ruleLines(stdout: string): Map<string, { status: string; message: string }> {
  const out = new Map<string, { status: string; message: string }>();
  for (const m of stdout.matchAll(/^ {2}(PASS|FAIL|SKIP): (\w+): (.*)$/gm)) out.set(m[2]!, { status: m[1]!, message: m[3]! });
  return out;
}

beforeAll(() => {
  image = buildFixture('wasteful');
  execFileSync('docker', ['save', '-o', archive.slice('docker-archive:'.length), image]);
  writeFileSync(lenient, ['rules:', '  lowestEfficiency: 0.5', '  highestWastedBytes: 100MB', '  highestUserWastedPercent: 0.95', '  setuidFiles: disabled', ''].join('\n'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('slim inspect --ci on an image made wasteful', () => {
  it("fails dive's rules with exit 6, each rule on its line with the measured value and the threshold", async () => {
    for (const ref of [image, archive]) {
      const r = await runSlim(['inspect', '--ci', '--highest-wasted-bytes', '20MB', ref], ref === archive ? { env: NO_ENGINE } : {});
      expect(r.code, `${ref}: ${r.stderr}`).toBe(6);
      const lines = ruleLines(r.stdout);
      expect([...lines.keys()]).toEqual(ALL_RULES);
      expect(lines.get('lowestEfficiency')!.message).toMatch(/^image efficiency is too low \(efficiency=0\.8\d+ < threshold=0\.9\)$/);
      expect(lines.get('highestWastedBytes')!.message).toBe(`too many bytes wasted (wasted-bytes=${WASTED} (30.2 MB) > threshold=20000000 (20.0 MB))`);
      expect(lines.get('highestUserWastedPercent')!.message).toMatch(/^too many bytes wasted, relative to the user bytes added \(%-user-wasted-bytes=0\.\d+ > threshold=0\.1; /);
      for (const rule of DIVE_RULES) expect(lines.get(rule)!.status, rule).toBe('FAIL');
      for (const rule of ALL_RULES.slice(3)) expect(lines.get(rule)!.message, rule).toMatch(/^rule disabled \(/);
      expect(r.stdout).toMatch(/^Result:FAIL \[Total:7\] \[Passed:0\] \[Failed:3\] \[Warn:0\] \[Skipped:4\]$/m);
    }
  });

  it("measures the share of waste as dive does: over the layers above the base, sized as docker history sizes them", async () => {
    const r = await runSlim(['inspect', '--ci', '--json', image]);
    expect(r.code, r.stderr).toBe(6);
    const report = JSON.parse(r.stdout) as InspectReport & { ci: CiReport };
    const sizes = historySizes(image);
    const userBytes = sizes.slice(0, -1).reduce((a, b) => a + b, 0);
    expect(sizes.at(-1)).toBe(historySizes('debian:bookworm').at(-1));
    const byRule = Object.fromEntries(report.ci.rules.map((x) => [x.rule, x]));
    expect(report.wasted.bytes).toBe(WASTED);
    expect(byRule.highestUserWastedPercent).toMatchObject({ status: 'fail', threshold: 0.1, source: 'default' });
    expect(byRule.highestUserWastedPercent!.value).toBeCloseTo(WASTED / userBytes, 9);
    expect(byRule.lowestEfficiency).toMatchObject({ status: 'fail', value: report.efficiency, threshold: 0.9 });
    expect(byRule.highestWastedBytes).toMatchObject({ status: 'skip', value: WASTED, threshold: 'disabled' });
    expect(report.ci).toMatchObject({ pass: false, config: null, tally: { total: 7, pass: 0, fail: 2, skip: 5 } });
  });

  it("slim's own rules: shells, package managers, setuid files and the largest layer", async () => {
    const r = await runSlim(['inspect', '--ci', '--lowest-efficiency', 'disabled', '--highest-user-wasted-percent', 'disabled', '--max-shells', '0', '--max-package-managers', '0', '--max-setuid', '0', '--largest-layer', '100MB', image]);
    expect(r.code, r.stderr).toBe(6);
    const lines = ruleLines(r.stdout);
    expect(lines.get('shells')).toEqual({ status: 'FAIL', message: expect.stringMatching(/^too many shells \(shells=\d+ > threshold=0; .*\/usr\/bin\/bash/) });
    expect(lines.get('packageManagers')).toEqual({ status: 'FAIL', message: expect.stringMatching(/^too many package managers \(package-managers=\d+ > threshold=0; .*\/usr\/bin\/apt/) });
    // Counted by find in a container of the image, not by slim's reader.
    const setuid = execFileSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'find', image, '/', '-xdev', '-type', 'f', '-perm', '-4000'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(setuid).toContain('/usr/bin/chfn');
    expect(lines.get('setuidFiles')).toEqual({ status: 'FAIL', message: expect.stringMatching(new RegExp(`^too many setuid files \\(setuid-files=${setuid.length} > threshold=0; /usr/bin/chfn, `)) });
    expect(lines.get('largestLayer')).toEqual({ status: 'FAIL', message: expect.stringMatching(/^a layer is too big \(largest-layer=\d+ \(.+\) > threshold=100000000 \(100\.0 MB\); layer 0: /) });
    expect(lines.get('lowestEfficiency')!.status).toBe('SKIP');
  });

  it('passes with exit 0 under a lenient .dive-ci, read from the working directory or named by --ci-config', async () => {
    const cwd = join(dir, 'repo');
    mkdirSync(cwd, { recursive: true });
    copyFileSync(lenient, join(cwd, '.dive-ci'));
    const runs = [
      ['working directory, engine', await slimIn(cwd, ['inspect', '--ci', image])],
      ['working directory, archive', await slimIn(cwd, ['inspect', '--ci', archive], NO_ENGINE)],
      ['--ci-config, archive', await runSlim(['inspect', '--ci', '--ci-config', lenient, archive], { env: NO_ENGINE })],
    ] as const;
    for (const [how, r] of runs) {
      expect(r.code, `${how}: ${r.stdout}${r.stderr}`).toBe(0);
      const lines = ruleLines(r.stdout);
      for (const rule of DIVE_RULES) expect(lines.get(rule)!.status, `${how}: ${rule}`).toBe('PASS');
      expect(lines.get('highestWastedBytes')!.message).toBe(`wasted-bytes=${WASTED} (30.2 MB) <= threshold=100000000 (100.0 MB)`);
      expect(r.stdout).toMatch(/^Result:PASS \[Total:7\] \[Passed:3\] \[Failed:0\] \[Warn:0\] \[Skipped:4\]$/m);
    }
    // A flag still wins over the file.
    const strict = await slimIn(cwd, ['inspect', '--ci', '--max-shells', '0', archive], NO_ENGINE);
    expect(strict.code, strict.stderr).toBe(6);
    expect(ruleLines(strict.stdout).get('shells')!.status).toBe('FAIL');
  });

  it('an unknown rule or a bad value: exit 2 before the image is read, naming the rule and what was meant', async () => {
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'rules:\n  lowestEfficency: 0.9\n');
    const r = await runSlim(['inspect', '--ci', '--ci-config', typo, 'slim-test/never-read:1'], { env: NO_ENGINE });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`slim: error: ${typo}: unknown rule "lowestEfficency"`);
    expect(r.stderr).toContain('slim: hint: did you mean lowestEfficiency?');
    const bad = await runSlim(['inspect', '--ci', '--highest-wasted-bytes', '20 parsecs', 'slim-test/never-read:1'], { env: NO_ENGINE });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/^slim: error: --highest-wasted-bytes must be a size/m);
  });
});
