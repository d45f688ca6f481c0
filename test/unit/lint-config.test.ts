import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLintConfig, parseLintConfig } from '../../src/lint/config.js';
import { lintDockerfile, type Finding } from '../../src/lint/lint.js';

const hits = (findings: Finding[]) => findings.map((f) => `${f.rule}:${f.severity}@${f.line}`);

describe('.slim-lint.yaml', () => {
  it('reads ignored, override (hadolint’s style is info) and trustedRegistries as a list or one string', () => {
    const c = parseLintConfig('ignored: [SL008, dl3009]\noverride:\n  error: [SL006]\n  info: [DL3006]\n  style: [SL017]\ntrustedRegistries: ghcr.io\n', 'x.yaml');
    expect(c).toEqual({ file: 'x.yaml', ignored: ['SL008', 'DL3009'], override: { error: ['SL006'], info: ['DL3006', 'SL017'] }, trustedRegistries: ['ghcr.io'] });
    expect(parseLintConfig('', 'empty.yaml')).toEqual({ file: 'empty.yaml', ignored: [], override: {} });
  });

  it('applies: ignored rules go, overrides change severity, registries are checked', () => {
    const config = parseLintConfig('ignored: [SL008]\noverride:\n  error: [SL006]\n  info: [DL3007]\ntrustedRegistries: [docker.io]\n', 'c.yaml');
    const text = 'FROM alpine:latest AS a\nFROM alpine:3.19\nFROM ghcr.io/o/app:1@sha256:a\n';
    expect(hits(lintDockerfile(text, { config }))).toEqual(['SL007:info@1', 'SL006:error@3', 'SL026:error@3']);
  });

  it('rejects what it does not know: keys, levels, rule ids (with close matches), shapes', () => {
    expect(() => parseLintConfig('failure-threshold: info\n', 'c.yaml')).toThrow('c.yaml: unknown key "failure-threshold"');
    expect(() => parseLintConfig('override:\n  fatal: [SL001]\n', 'c.yaml')).toThrow('c.yaml: override.fatal is not a level');
    expect(() => parseLintConfig('ignored: [SL0003]\n', 'c.yaml')).toThrow('c.yaml: ignored: unknown rule SL0003');
    expect(() => parseLintConfig('ignored: SL003\n', 'c.yaml')).toThrow('c.yaml: ignored must be a list of strings');
    expect(() => parseLintConfig('- a\n', 'c.yaml')).toThrow('c.yaml must be a mapping');
    expect(() => parseLintConfig('a: [\n', 'c.yaml')).toThrow(/c\.yaml is not YAML/);
  });

  describe('lookup', () => {
    let dir: string;
    let cwd: string;
    beforeEach(() => {
      cwd = process.cwd();
      dir = mkdtempSync(join(tmpdir(), 'slim-lint-config-'));
      mkdirSync(join(dir, 'app'));
      mkdirSync(join(dir, 'other'));
      writeFileSync(join(dir, '.slim-lint.yaml'), 'ignored: [SL010]\n');
      writeFileSync(join(dir, 'app', '.slim-lint.yml'), 'ignored: [SL006]\n');
      process.chdir(dir);
    });
    afterEach(() => {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    });

    it('beside the Dockerfile first, then the current directory, or --config', async () => {
      expect((await loadLintConfig(undefined, join(dir, 'app', 'Dockerfile'))).ignored).toEqual(['SL006']);
      expect(await loadLintConfig(undefined, join(dir, 'other', 'Dockerfile'))).toMatchObject({ file: '.slim-lint.yaml', ignored: ['SL010'] });
      expect((await loadLintConfig(undefined, null)).ignored).toEqual(['SL010']);
      expect((await loadLintConfig(join(dir, 'app', '.slim-lint.yml'), null)).ignored).toEqual(['SL006']);
      await expect(loadLintConfig(join(dir, 'nope.yaml'), null)).rejects.toMatchObject({ code: 'USAGE', message: `cannot read the lint config ${join(dir, 'nope.yaml')}` });
    });

    it('no file anywhere is no config', async () => {
      process.chdir(join(dir, 'other'));
      expect(await loadLintConfig(undefined, join(dir, 'other', 'Dockerfile'))).toEqual({ file: null, ignored: [], override: {} });
    });
  });
});
