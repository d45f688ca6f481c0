import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InspectLayer, InspectReport } from '../../src/inspect/analyse.js';
import { evaluateCi, renderCi, userWastedRatio } from '../../src/inspect/ci-gate.js';
import { CI_RULE_NAMES, ciRulesFromOptions, closeRuleNames, parseCiFile, parseSize, parseThreshold, resolveCiRules, type CiRule, type CiRuleName, type Threshold } from '../../src/inspect/ci-rules.js';
import { SlimError } from '../../src/errors.js';

function layer(index: number, bytes: number, instruction = `step ${index}`): InspectLayer {
  return { index, diffId: null, createdBy: instruction, instruction, created: null, bytes, archive: { bytes, format: 'tar' }, files: 1, entries: 1, whiteouts: 0, wastedBytes: 0 };
}

/** A base layer of 100 MB, then 30 MB and 10 MB of the user's: 20 MB of it wasted. */
function report(over: Partial<InspectReport> = {}): InspectReport {
  return {
    schema: 'slim.inspect/v1',
    image: { ref: 'test:1', id: 'sha256:' + 'a'.repeat(64), os: 'linux', architecture: 'amd64', created: null },
    total: { bytes: 120_000_000, files: 10, entries: 12, layers: 3 },
    layers: [layer(0, 100_000_000, 'ADD rootfs'), layer(1, 30_000_000, 'RUN make'), layer(2, 10_000_000, 'RUN rm')],
    configSteps: [],
    wasted: { bytes: 20_000_000, files: 1, layerFileBytes: 140_000_000, top: [] },
    efficiency: 1 - 20 / 140,
    largestDirs: [],
    packages: { dpkg: 90, apk: null },
    tools: { shells: ['/usr/bin/bash', '/usr/bin/dash', '/usr/bin/sh'], packageManagers: ['/usr/bin/apt', '/usr/bin/dpkg'], compilers: [] },
    setid: [
      { path: '/usr/bin/su', mode: '4755', setuid: true, setgid: false },
      { path: '/usr/bin/chage', mode: '2755', setuid: false, setgid: true },
    ],
    ...over,
  };
}

const only = (name: CiRuleName, threshold: Threshold): CiRule[] => [{ name, threshold, source: 'flag' }];
const one = (r: InspectReport, name: CiRuleName, threshold: Threshold) => evaluateCi(r, only(name, threshold)).rules[0]!;

describe('inspect --ci: each rule against a report', () => {
  it('lowestEfficiency fails below the threshold and passes at or above it', () => {
    const r = report();
    expect(one(r, 'lowestEfficiency', 0.9)).toMatchObject({ status: 'fail', value: r.efficiency, message: 'image efficiency is too low (efficiency=0.857143 < threshold=0.9)' });
    expect(one(r, 'lowestEfficiency', 0.8)).toMatchObject({ status: 'pass', message: 'efficiency=0.857143 >= threshold=0.8' });
    expect(one(report({ efficiency: 0.9 }), 'lowestEfficiency', 0.9).status).toBe('pass');
  });

  it('highestWastedBytes fails above the threshold, in bytes', () => {
    expect(one(report(), 'highestWastedBytes', 19_999_999)).toMatchObject({ status: 'fail', value: 20_000_000, message: 'too many bytes wasted (wasted-bytes=20000000 (20.0 MB) > threshold=19999999 (20.0 MB))' });
    expect(one(report(), 'highestWastedBytes', 20_000_000).status).toBe('pass');
  });

  it('highestUserWastedPercent is wasted bytes over the layers but the first, as dive computes it', () => {
    const r = report();
    expect(userWastedRatio(r).value).toBe(0.5); // 20 MB of 30 + 10 MB; the base's 100 MB left out
    expect(one(r, 'highestUserWastedPercent', 0.4)).toMatchObject({ status: 'fail', value: 0.5 });
    expect(one(r, 'highestUserWastedPercent', 0.4).message).toMatch(/^too many bytes wasted, relative to the user bytes added \(%-user-wasted-bytes=0\.5 > threshold=0\.4; 20\.0 MB wasted of 40\.0 MB above the base layer\)$/);
    expect(one(r, 'highestUserWastedPercent', 0.5).status).toBe('pass');
  });

  it('highestUserWastedPercent has nothing to measure on an image of one layer', () => {
    const r = report({ layers: [layer(0, 5_000)], wasted: { bytes: 0, files: 0, layerFileBytes: 5_000, top: [] } });
    expect(one(r, 'highestUserWastedPercent', 0.1)).toMatchObject({ status: 'skip', value: null, message: 'nothing to measure: no bytes in layers above the base layer' });
  });

  it('largestLayer names the biggest layer', () => {
    expect(one(report(), 'largestLayer', 50_000_000)).toMatchObject({ status: 'fail', value: 100_000_000 });
    expect(one(report(), 'largestLayer', 50_000_000).message).toContain('layer 0: ADD rootfs');
    expect(one(report(), 'largestLayer', 100_000_000).status).toBe('pass');
  });

  it('setuidFiles counts setuid files, not setgid-only ones', () => {
    expect(one(report(), 'setuidFiles', 0)).toMatchObject({ status: 'fail', value: 1, message: 'too many setuid files (setuid-files=1 > threshold=0; /usr/bin/su)' });
    expect(one(report(), 'setuidFiles', 1).status).toBe('pass');
  });

  it('shells and packageManagers count what is present; 0 forbids them', () => {
    expect(one(report(), 'shells', 0)).toMatchObject({ status: 'fail', value: 3 });
    expect(one(report(), 'shells', 3).status).toBe('pass');
    expect(one(report(), 'packageManagers', 0)).toMatchObject({ status: 'fail', value: 2, message: 'too many package managers (package-managers=2 > threshold=0; /usr/bin/apt, /usr/bin/dpkg)' });
    const none = report({ tools: { shells: [], packageManagers: [], compilers: [] } });
    expect(one(none, 'packageManagers', 0)).toMatchObject({ status: 'pass', message: 'package-managers=0 <= threshold=0' });
  });

  it('a disabled rule is skipped and still shows what it would have measured', () => {
    expect(one(report(), 'shells', 'disabled')).toMatchObject({ status: 'skip', value: 3, message: 'rule disabled (shells=3; /usr/bin/bash, /usr/bin/dash, /usr/bin/sh)' });
  });

  it('the gate passes when no rule fails, skips included, and prints dive-style lines', () => {
    const rules = resolveCiRules({}, {});
    const good = evaluateCi(report({ efficiency: 0.95, wasted: { bytes: 1_000_000, files: 1, layerFileBytes: 140_000_000, top: [] } }), rules, '.dive-ci');
    expect(good.pass).toBe(true);
    expect(good.tally).toEqual({ total: 7, pass: 2, fail: 0, skip: 5 });
    const bad = evaluateCi(report(), rules);
    expect(bad.pass).toBe(false);
    const text = renderCi(bad).split('\n');
    expect(text[0]).toBe('ci rules (no rules file; a flag wins over the file)');
    expect(text.slice(1, 8).map((l) => l.replace(/: .*/s, '').trim() + ' ' + l.split(': ')[1])).toEqual([
      'FAIL lowestEfficiency',
      'SKIP highestWastedBytes',
      'FAIL highestUserWastedPercent',
      'SKIP largestLayer',
      'SKIP setuidFiles',
      'SKIP shells',
      'SKIP packageManagers',
    ]);
    expect(text[8]).toBe('Result:FAIL [Total:7] [Passed:0] [Failed:2] [Warn:0] [Skipped:5]');
  });
});

describe('inspect --ci: thresholds, sizes and the .dive-ci file', () => {
  it('reads sizes as dive does: decimal units, binary ones with i, bare bytes', () => {
    expect(parseSize('x', '20MB')).toBe(20_000_000);
    expect(parseSize('x', '20mb')).toBe(20_000_000);
    expect(parseSize('x', '20M')).toBe(20_000_000);
    expect(parseSize('x', '20MiB')).toBe(20 * 1024 * 1024);
    expect(parseSize('x', '1.5 GB')).toBe(1_500_000_000);
    expect(parseSize('x', '300kB')).toBe(300_000);
    expect(parseSize('x', '12345')).toBe(12_345);
    expect(parseSize('x', '1,000')).toBe(1_000);
    expect(parseSize('x', '0')).toBe(0);
    expect(parseSize('x', 20_000_000)).toBe(20_000_000);
    for (const v of ['20 parsecs', '-5MB', 'MB', '', '1.2.3', 'twenty']) expect(() => parseSize('--highest-wasted-bytes', v)).toThrow(/--highest-wasted-bytes must be a size/);
  });

  it('takes ratios between 0 and 1, counts of 0 and up, and disabled for any rule', () => {
    expect(parseThreshold('lowestEfficiency', '0.95', 'f')).toBe(0.95);
    expect(parseThreshold('lowestEfficiency', 1, 'f')).toBe(1);
    expect(parseThreshold('highestUserWastedPercent', 0, 'f')).toBe(0);
    expect(parseThreshold('shells', '0', 'f')).toBe(0);
    expect(parseThreshold('setuidFiles', 3, 'f')).toBe(3);
    for (const name of CI_RULE_NAMES) expect(parseThreshold(name, 'disabled', 'f')).toBe('disabled');
  });

  it('rejects bad values with the flag or the file and key in the message', () => {
    expect(() => parseThreshold('lowestEfficiency', '1.5', '--lowest-efficiency')).toThrow('--lowest-efficiency must be a ratio between 0 and 1 like 0.9 or "disabled", not "1.5"');
    expect(() => parseThreshold('lowestEfficiency', 'high', '--lowest-efficiency')).toThrow(/must be a ratio/);
    expect(() => parseThreshold('highestUserWastedPercent', -0.1, 'f')).toThrow(/must be a ratio/);
    expect(() => parseThreshold('shells', '1.5', '--max-shells')).toThrow('--max-shells must be a whole number of at least 0 or "disabled", not "1.5"');
    expect(() => parseThreshold('packageManagers', true, 'f')).toThrow(/not true/);
    expect(() => parseThreshold('largestLayer', null, '.dive-ci: rules.largestLayer')).toThrow(/^\.dive-ci: rules\.largestLayer must be a size/);
    try {
      parseThreshold('highestUserWastedPercent', '20%', 'f');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'USAGE', exitCode: 2, hint: 'a ratio, not a percentage, as dive takes it: 0.2 for 20%' });
    }
  });

  it("parses dive's own .dive-ci example", () => {
    const text = [
      'rules:',
      '  # If the efficiency is measured below X%, mark as failed.',
      '  lowestEfficiency: 0.95',
      '  highestWastedBytes: 20MB',
      '  highestUserWastedPercent: 0.20',
    ].join('\n');
    expect(parseCiFile(text, '.dive-ci')).toEqual({ lowestEfficiency: 0.95, highestWastedBytes: 20_000_000, highestUserWastedPercent: 0.2 });
  });

  it("reads slim's rules and disabled from the file, names in any case as dive's config reader does", () => {
    const text = 'rules:\n  highestwastedbytes: disabled\n  largestLayer: 100MiB\n  setuidFiles: 0\n  Shells: 0\n  packageManagers: 1\n';
    expect(parseCiFile(text, 'f')).toEqual({ highestWastedBytes: 'disabled', largestLayer: 100 * 1024 ** 2, setuidFiles: 0, shells: 0, packageManagers: 1 });
    expect(parseCiFile('', 'f')).toEqual({});
    expect(parseCiFile('rules:\n', 'f')).toEqual({});
  });

  it('an unknown rule is a usage error naming it and the close matches', () => {
    const err = (() => {
      try {
        parseCiFile('rules:\n  lowestEfficency: 0.9\n', '.dive-ci');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SlimError);
    expect(err).toMatchObject({ code: 'USAGE', exitCode: 2, message: '.dive-ci: unknown rule "lowestEfficency"', hint: 'did you mean lowestEfficiency?' });
    expect(closeRuleNames('max-shells')).toEqual(['shells']);
    expect(closeRuleNames('highestWastedPercent')).toContain('highestUserWastedPercent');
    expect(() => parseCiFile('rules:\n  colour: blue\n', 'f')).toThrow(/unknown rule "colour"/);
  });

  it('rejects files that are not a rules: mapping', () => {
    expect(() => parseCiFile('- a\n- b\n', 'f')).toThrow(/must be a mapping with a rules: key/);
    expect(() => parseCiFile('lowestEfficiency: 0.9\n', 'f')).toThrow('f: unknown key "lowestEfficiency"');
    expect(() => parseCiFile('rules: 0.9\n', 'f')).toThrow(/rules must be a mapping/);
    expect(() => parseCiFile('rules: [\n', 'f')).toThrow(/f is not valid YAML/);
    expect(() => parseCiFile('rules:\n  shells: 0\n  SHELLS: 1\n', 'f')).toThrow(/given twice/);
  });

  it("dive's defaults for its rules, slim's own off; a flag wins over the file", () => {
    const byName = (rules: CiRule[]) => Object.fromEntries(rules.map((r) => [r.name, `${r.threshold}/${r.source}`]));
    expect(byName(resolveCiRules({}, {}))).toEqual({
      lowestEfficiency: '0.9/default',
      highestWastedBytes: 'disabled/default',
      highestUserWastedPercent: '0.1/default',
      largestLayer: 'disabled/default',
      setuidFiles: 'disabled/default',
      shells: 'disabled/default',
      packageManagers: 'disabled/default',
    });
    const rules = byName(resolveCiRules({ lowestEfficiency: 0.5, shells: 0 }, { lowestEfficiency: '0.99', highestWastedBytes: '1MB' }));
    expect(rules).toMatchObject({ lowestEfficiency: '0.99/flag', highestWastedBytes: '1000000/flag', shells: '0/file' });
  });
});

describe('inspect --ci: options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slim-ci-'));
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, 'rules:\n  lowestEfficiency: 0.5\n  shells: 2\n');

  it('is off without --ci, and a rule flag or --ci-config without --ci is a usage error', () => {
    expect(ciRulesFromOptions({}, () => true)).toBeNull();
    expect(() => ciRulesFromOptions({ maxShells: '0' })).toThrow('--max-shells applies only with --ci');
    expect(() => ciRulesFromOptions({ lowestEfficiency: '0.9', ciConfig: file })).toThrow('--lowest-efficiency, --ci-config apply only with --ci');
  });

  it('reads --ci-config, with flags by their attribute names over it', () => {
    const got = ciRulesFromOptions({ ci: true, ciConfig: file, maxShells: '0', maxPackageManagers: '0' })!;
    expect(got.file).toBe(file);
    expect(Object.fromEntries(got.rules.map((r) => [r.name, r.threshold]))).toMatchObject({ lowestEfficiency: 0.5, shells: 0, packageManagers: 0, highestUserWastedPercent: 0.1 });
  });

  it('uses ./.dive-ci only when it is there, and a missing --ci-config is a usage error', () => {
    expect(ciRulesFromOptions({ ci: true }, () => false)).toMatchObject({ file: null });
    expect(() => ciRulesFromOptions({ ci: true, ciConfig: join(dir, 'nope') })).toThrow(/cannot read the rules file .*nope: ENOENT/);
    rmSync(dir, { recursive: true, force: true });
  });
});
