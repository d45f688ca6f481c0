import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runSlim, SLIM_BIN } from '../helpers/slim.js';

const BAD = 'test/unit/data/dockerfiles/bad/Dockerfile';
const CLEAN = 'test/unit/data/dockerfiles/clean/Dockerfile';

/** runSlim gives the CLI no stdin; `-` needs one. */
function lintStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLIM_BIN, 'lint', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('slim lint, the command', () => {
  it('prints one line per finding, naming the file or the build context, and exits 0 when nothing reaches --fail-on (default: error)', async () => {
    const r = await runSlim(['lint', 'fixtures/python-http/Dockerfile']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile \(build context\) SL010 warning: no \.dockerignore in the build context fixtures\/python-http \(fix: /),
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:1 SL006 warning: no USER .*\(fix: /),
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:1 SL008 info: /),
      expect.stringMatching(/^fixtures\/python-http\/Dockerfile:2 SL021 \(DL3008\) info: apt-get install of python3 without a pinned version/),
    ]);
  });

  it('exits 5 when a finding reaches --fail-on, prints JSON with --json, and skips --ignore rules by slim or hadolint id', async () => {
    const r = await runSlim(['lint', BAD, '--fail-on', 'warning', '--json', '--ignore', 'sl012', '--ignore', 'DL3009,SL021']);
    expect(r.code).toBe(5);
    const findings = JSON.parse(r.stdout) as { file: string; rule: string; hadolint: string | null; line: number | null; severity: string; fix: string }[];
    expect(findings.length).toBeGreaterThan(10);
    expect(findings.some((f) => f.rule === 'SL012' || f.rule === 'SL021' || f.hadolint === 'DL3009')).toBe(false);
    // SL003's pip hit is DL3042, not DL3009: it stays.
    expect(findings.filter((f) => f.rule === 'SL003').map((f) => f.hadolint)).toEqual(['DL3042']);
    expect(findings.every((f) => f.fix.length > 0 && (f.line === null || Number.isInteger(f.line)))).toBe(true);
    expect(findings.find((f) => f.rule === 'SL011')).toMatchObject({ file: 'test/unit/data/dockerfiles/bad/.dockerignore', line: null });
    const clean = await runSlim(['lint', CLEAN, '--fail-on', 'info', '--ignore', 'SL021']);
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toBe('');
    expect((await runSlim(['lint', CLEAN, '--fail-on', 'info'])).code).toBe(5);
    expect((await runSlim(['lint', CLEAN, '--fail-on', 'warning'])).code).toBe(0);
  });

  it('prints SARIF, checkstyle and GitLab code quality', async () => {
    const sarif = await runSlim(['lint', BAD, '--format', 'sarif']);
    expect(sarif.code).toBe(5);
    const log = JSON.parse(sarif.stdout) as { version: string; runs: { tool: { driver: { name: string } }; results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.tool.driver.name).toBe('slim');
    expect(log.runs[0]!.results.find((x) => x.ruleId === 'SL016')).toMatchObject({ level: 'warning', locations: [{ physicalLocation: { artifactLocation: { uri: BAD }, region: { startLine: 11 } } }] });
    const checkstyle = await runSlim(['lint', BAD, CLEAN, '--format', 'checkstyle']);
    expect(checkstyle.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<checkstyle version="4.3">\n/);
    expect(checkstyle.stdout).toContain(`<file name="${BAD}">`);
    expect(checkstyle.stdout).toContain(`<file name="${CLEAN}">`);
    expect(checkstyle.stdout).toContain('source="SL016 (DL3000)"');
    const gitlab = await runSlim(['lint', BAD, '--format', 'gitlab']);
    const issues = JSON.parse(gitlab.stdout) as { check_name: string; fingerprint: string; severity: string; location: { path: string; lines: { begin: number } } }[];
    expect(issues.find((i) => i.check_name === 'SL016 (DL3000)')).toMatchObject({ severity: 'major', location: { path: BAD, lines: { begin: 11 } } });
    const again = JSON.parse((await runSlim(['lint', BAD, '--format', 'gitlab'])).stdout) as { fingerprint: string }[];
    expect(again.map((i) => i.fingerprint)).toEqual(issues.map((i) => i.fingerprint));
  });

  it('lints several Dockerfiles in one run, each finding under its file; the exit code is over all of them', async () => {
    const r = await runSlim(['lint', 'fixtures/node-http/Dockerfile', BAD, '--format', 'json']);
    expect(r.code).toBe(5);
    const files = new Set((JSON.parse(r.stdout) as { dockerfile: string }[]).map((f) => f.dockerfile));
    expect([...files]).toEqual(['fixtures/node-http/Dockerfile', BAD]);
    expect((await runSlim(['lint', 'fixtures/node-http/Dockerfile', CLEAN])).code).toBe(0);
  });

  it('reads - from stdin, with the build context only when --context names one, and honours inline ignores', async () => {
    const text = 'FROM alpine:3.19\n# hadolint ignore=DL3018\nRUN apk add --no-cache curl\nWORKDIR app\nUSER 1000\n';
    const r = await lintStdin(['-'], text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^-:1 SL008 info: /), expect.stringMatching(/^-:4 SL016 \(DL3000\) warning: WORKDIR app is relative/)]);
    const withContext = await lintStdin(['-', '--context', 'fixtures/node-http', '--fail-on', 'warning', '--format', 'json'], text);
    expect(withContext.code).toBe(5);
    expect((JSON.parse(withContext.stdout) as { rule: string; file: string }[]).find((f) => f.rule === 'SL010')).toMatchObject({ file: '(build context)' });
    const both = await lintStdin(['-', CLEAN], 'FROM scratch\nMAINTAINER me\nUSER 1\n');
    expect(both.stdout).toMatch(/^-:2 SL024 \(DL4000\) info: MAINTAINER/m);
    expect(both.stdout).toContain(`${CLEAN}:20 SL021`);
    expect((await lintStdin(['-', '-'], '')).code).toBe(2);
  });

  it('takes .slim-lint.yaml beside the Dockerfile, or --config', async () => {
    const r = await runSlim(['lint', 'test/unit/data/lint-rules/registries.Dockerfile']);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/registries\.Dockerfile:5 SL026 \(DL3026\) error: base image quay\.io\/org\/app.* is not a trusted registry/);
    const other = await runSlim(['lint', BAD, '--config', 'test/unit/data/lint-rules/.slim-lint.yaml', '--format', 'json']);
    expect((JSON.parse(other.stdout) as { rule: string }[]).some((f) => f.rule === 'SL026')).toBe(false);
    const bad = await runSlim(['lint', BAD, '--config', 'no/such.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^slim: error: cannot read the lint config no\/such\.yaml$/m);
  });

  it('usage errors exit 2: a Dockerfile that is not there, an unknown rule id (with close matches), two formats', async () => {
    const missing = await runSlim(['lint', 'no/such/Dockerfile']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^slim: error: cannot read Dockerfile no\/such\/Dockerfile$/m);
    const unknown = await runSlim(['lint', BAD, '--ignore', 'SL100']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^slim: error: --ignore: unknown rule SL100\nslim: hint: did you mean SL010\?$/m);
    const hadolintOnly = await runSlim(['lint', BAD, '--ignore', 'DL3059']);
    expect(hadolintOnly.code).toBe(2);
    expect(hadolintOnly.stderr).toMatch(/no slim rule means what hadolint's DL3059 does/);
    expect((await runSlim(['lint', BAD, '--json', '--format', 'sarif'])).code).toBe(2);
    expect((await runSlim(['lint', BAD, '--format', 'yaml'])).code).toBe(2);
  });
});
