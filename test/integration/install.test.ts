import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const TARBALL = `${pkg.name}-${pkg.version}.tgz`;
const work = mkdtempSync(join(tmpdir(), 'slim-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

describe('installing slim the way the README says', () => {
  it('the package is not called slim (an unrelated package on npm) and installs the command slim', () => {
    expect(pkg.name).not.toBe('slim');
    expect(Object.keys(pkg.bin)).toEqual(['slim']);
    // The README names the tarball npm pack makes of this version; the action and the GitLab
    // template (which the CI examples use) install the tarball they pack (ci-templates.test.ts).
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(TARBALL);
    for (const doc of ['README.md', 'examples/ci/github-actions.yml', 'examples/ci/gitlab-ci.yml', 'action.yml', 'ci/gitlab/slim.gitlab-ci.yml', 'scripts/ci-install.sh']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      expect(text, doc).not.toMatch(/npm install (-g|--global) slim\b|npx slim\b/);
    }
  });

  it('npm pack, then npm install -g --prefix DIR of the tarball (its dependencies from the npm registry): DIR/bin/slim runs --version and lint', () => {
    // dist/ is already built for the integration tests: packing without prepare does not rebuild
    // it under the other test files that are running it.
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
    expect(packed[0]!.filename).toBe(TARBALL);
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain(pkg.bin.slim);
    expect(files).toContain('probes/Dockerfile');
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);

    const prefix = join(work, 'prefix');
    // From a directory that is not the checkout, as a user would: nothing of the repository is at hand.
    npm(['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(work, TARBALL)], work);
    const slim = join(prefix, 'bin', 'slim');
    expect(existsSync(slim)).toBe(true);
    expect(existsSync(join(prefix, 'lib', 'node_modules', pkg.name, 'node_modules', 'typescript'))).toBe(false);

    const version = spawnSync(slim, ['--version'], { cwd: work, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);

    const lint = spawnSync(slim, ['lint', '--json', join(ROOT, 'fixtures', 'wasteful', 'Dockerfile')], { cwd: work, encoding: 'utf8' });
    expect(lint.status, lint.stderr).toBe(0);
    const rules = (JSON.parse(lint.stdout) as { rule: string }[]).map((f) => f.rule);
    expect(rules).toContain('SL015');

    // Through npm's symlink: the flag node would take for its own reaches slim.
    const envFile = spawnSync(slim, ['build', 'x:1', '--env-file', join(work, 'none.env')], { cwd: work, encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(envFile.status, envFile.stderr).toBe(2);
    expect(envFile.stderr).toMatch(/^slim: error: cannot read --env-file .*none\.env: ENOENT\n/);
  });
});
