import { describe, expect, it } from 'vitest';
import { runSlim } from '../helpers/slim.js';

describe('slim lint, the command', () => {
  it('prints one line per finding and exits 0 when nothing reaches --fail-on (default: error)', async () => {
    const r = await runSlim(['lint', 'fixtures/python-http/Dockerfile']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:0 SL010 warning: no \.dockerignore/),
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:1 SL006 warning: no USER .*\(fix: /),
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:1 SL008 info: /),
    ]);
  });

  it('exits 5 when a finding reaches --fail-on, prints JSON with --json, and skips --ignore rules', async () => {
    const bad = 'test/unit/data/dockerfiles/bad/Dockerfile';
    const r = await runSlim(['lint', bad, '--fail-on', 'warning', '--json', '--ignore', 'sl012']);
    expect(r.code).toBe(5);
    const findings = JSON.parse(r.stdout) as { rule: string; line: number; severity: string; fix: string }[];
    expect(findings.length).toBeGreaterThan(10);
    expect(findings.some((f) => f.rule === 'SL012')).toBe(false);
    expect(findings.every((f) => f.fix.length > 0 && Number.isInteger(f.line))).toBe(true);
    const clean = await runSlim(['lint', 'test/unit/data/dockerfiles/clean/Dockerfile', '--fail-on', 'info']);
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toBe('');
  });

  it('a Dockerfile that is not there is a usage error', async () => {
    const r = await runSlim(['lint', 'no/such/Dockerfile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^slim: error: cannot read Dockerfile no\/such\/Dockerfile$/m);
  });
});
