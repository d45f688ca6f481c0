import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort } from '../helpers/slim.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { parseOutputFile, readAction, readGitlabTemplate, runAction, runGitlabJob } from '../helpers/ci-runner.js';
import type { BuildReport } from '../../src/report/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let work = '';
const madeTags: string[] = [];
// A checkout of slim as the runners have it (the action's own; the repository the GitLab job
// clones): the files of this working tree, not its node_modules or dist, committed on main.
let source = '';
const git = (args: string[], cwd: string) => execFileSync('git', ['-c', 'user.name=slim tests', '-c', 'user.email=tests@slim.invalid', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
// npm's global installs go to a prefix of the test's own: nothing outside `work` changes.
const baseEnv = (prefix: string): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_prefer_offline: 'true' };
  for (const k of Object.keys(env)) if (k.startsWith('GITHUB_') || k.startsWith('SLIM_') || k.startsWith('npm_package_') || k === 'npm_lifecycle_event') delete env[k];
  return env;
};
let reg: TestRegistry;

beforeAll(async () => {
  // Made here, not at load: a template that does not parse fails the file before any hook runs.
  work = mkdtempSync(join(tmpdir(), 'slim-ci-templates-'));
  source = join(work, 'slim');
  const files = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT).split('\0').filter((f) => f && f !== 'node_modules' && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(source, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(source, f));
  }
  git(['init', '-q', '-b', 'main'], source);
  git(['add', '-A'], source);
  git(['commit', '-q', '-m', 'slim'], source);
  reg = await startRegistry();
});
afterAll(async () => {
  removeImages(madeTags);
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the GitHub Action (action.yml), its steps run in a shell as the runner runs them', () => {
  const action = readAction(join(ROOT, 'action.yml'));
  const prefix = () => join(work, 'gh-prefix');

  it('installs slim from its own checkout into the npm prefix, slims a real image with the inputs given and writes tag, digest and summary', () => {
    const port = freePort();
    const runId = `ci-action-${process.pid}-${port}`;
    const tag = `slim-test/static-bin:action-${port}`;
    madeTags.push(tag);
    const ws = join(work, 'gh-workspace');
    mkdirSync(ws);
    writeFileSync(join(ws, 'slim-ci.yaml'), `env: [PORT=${port}]\n`);
    const run = runAction(action, {
      actionPath: source,
      cwd: ws,
      env: baseEnv(prefix()),
      inputs: {
        image: fixtureTag('static-bin'),
        tag,
        outputs: `docker\noci:${join(ws, 'layout')}:v1\n`,
        network: 'host',
        'http-probe': 'GET /\nGET /?again',
        'http-port': String(port),
        harden: 'true',
        'max-size': '5MB',
        'min-reduction': '10',
        config: 'slim-ci.yaml',
        report: 'slim-report.json',
        // Quotes group words; nothing in the text is run.
        args: `--run-id ${runId} --exclude '/no such dir/**' --exclude "/$(touch pwned)"`,
      },
    });
    const [install, build] = run.steps;
    expect(install!.status, install!.stderr).toBe(0);
    expect(install!.stdout).toContain(`slim-ci: installed slim ${pkg.version} from ${source} as ${prefix()}/bin/slim`);
    expect(run.path).toEqual([join(prefix(), 'bin')]);
    expect(existsSync(join(source, `slim-image-${pkg.version}.tgz`))).toBe(false);

    expect(build!.status, build!.stderr).toBe(0);
    expect(build!.stdout).toContain('slim-ci: done (report: slim-report.json)');
    expect(build!.stdout).toContain(`--exclude /no such dir/** --exclude /$(touch pwned)`);
    expect(existsSync(join(ws, 'pwned'))).toBe(false);
    const report = JSON.parse(readFileSync(join(ws, 'slim-report.json'), 'utf8')) as BuildReport;
    expect(report.status).toBe('ok');
    expect(report.budget).toEqual({ maxSize: 5e6, minReduction: 10, broken: [] });
    expect(report.harden).not.toBeNull();
    expect(report.verify.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['GET /', 'GET /?again']));

    // The step's GITHUB_OUTPUT, and the action's outputs evaluated from it.
    const id = docker(['image', 'inspect', '--format', '{{.Id}}', tag]).trim();
    expect(build!.outputs).toMatchObject({ tag, 'image-id': id, digest: report.output.digest, size: String(report.output.size), status: 'ok', report: 'slim-report.json', 'exit-code': '0' });
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs).toEqual({ tag, digest: report.output.digest, 'image-id': id, size: String(report.output.size), 'original-size': String(report.input.size), pushed: '', status: 'ok', report: 'slim-report.json' });
    expect(JSON.parse(readFileSync(join(ws, 'layout', 'index.json'), 'utf8')).manifests).toHaveLength(1);
    expect(build!.summary).toContain(tag);
    expect(build!.summary).toMatch(/GET \/\?again/);
    expect(leftovers(runId)).toEqual({ containers: [], volumes: [] });
  });

  it('an input the script cannot use fails the step with one line and exit 2 before slim runs', () => {
    const ws = join(work, 'gh-bad');
    mkdirSync(ws);
    const build = { ...action, runs: { ...action.runs, steps: action.runs.steps.filter((s) => s.id === 'build') } };
    const env = { ...baseEnv(prefix()), PATH: `${join(prefix(), 'bin')}:${process.env.PATH}` };
    const bad = runAction(build, { actionPath: source, cwd: ws, env, inputs: { image: fixtureTag('static-bin'), harden: 'yes please' } });
    expect(bad.steps[0]!.status).toBe(2);
    expect(bad.steps[0]!.stderr).toBe("slim-ci: error: SLIM_HARDEN (the action's input harden) is 'yes please': use true or false\n");
    expect(bad.outputs.digest).toBe('');
    const unsplittable = runAction(build, { actionPath: source, cwd: ws, env, inputs: { image: fixtureTag('static-bin'), args: "--exclude 'open" } });
    expect(unsplittable.steps[0]!.status).toBe(2);
    expect(unsplittable.steps[0]!.stderr).toMatch(/^slim-ci: error: SLIM_ARGS \(the action's input args\) cannot be split into words: --exclude 'open\n$/m);
    expect(readdirSync(ws)).toEqual([]);
  });
});

describe('the GitLab CI template (ci/gitlab/slim.gitlab-ci.yml), its script lines run in a shell as the runner runs them', () => {
  const job = readGitlabTemplate(join(ROOT, 'ci', 'gitlab', 'slim.gitlab-ci.yml'))['.slim']!;

  it('clones slim, installs it into the npm prefix, slims a real image with the variables set, pushes it and leaves the results as a dotenv report', () => {
    const port = freePort();
    const runId = `ci-gitlab-${process.pid}-${port}`;
    const ws = join(work, 'gl-project');
    mkdirSync(ws);
    const ref = `${reg.host}/team/static-bin:gitlab-${port}`;
    const r = runGitlabJob(job, {
      cwd: ws,
      env: { ...baseEnv(join(work, 'gl-prefix')), CI_PROJECT_DIR: ws },
      variables: {
        SLIM_SOURCE_URL: `file://${source}`,
        SLIM_IMAGE: fixtureTag('static-bin'),
        SLIM_PUSH: ref,
        SLIM_NETWORK: 'host',
        SLIM_SMOKE: `curl -fsS http://127.0.0.1:${port}/ >/dev/null`,
        SLIM_VERIFY_SMOKE: `curl -fsS http://127.0.0.1:${port}/ | grep -q .`,
        SLIM_ARGS: `-e PORT=${port} --run-id ${runId}`,
      },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(ws, '.slim-source', 'package.json'))).toBe(true);
    expect(r.stdout).toContain(`slim-ci: installed slim ${pkg.version} from ${join(ws, '.slim-source')} as ${join(work, 'gl-prefix')}/bin/slim`);

    const dotenv = parseOutputFile(readFileSync(join(ws, job.artifacts!.reports!.dotenv!), 'utf8'));
    const report = JSON.parse(readFileSync(join(ws, 'slim-report.json'), 'utf8')) as BuildReport;
    expect(dotenv).toEqual({
      SLIM_OUT_TAG: '', SLIM_OUT_DIGEST: report.output.digest, SLIM_OUT_IMAGE_ID: report.output.id, SLIM_OUT_SIZE: String(report.output.size),
      SLIM_OUT_ORIGINAL_SIZE: String(report.input.size), SLIM_OUT_PUSHED: `${ref}@${report.output.digest}`, SLIM_OUT_STATUS: 'ok',
      SLIM_OUT_REPORT: 'slim-report.json', SLIM_OUT_EXIT_CODE: '0',
    });
    expect(r.stdout).toContain(`slim-ci: done, pushed ${ref}@${report.output.digest} (report: slim-report.json)`);
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as { Digest: string };
    expect(inspected.Digest).toBe(report.output.digest);
    // The slim image is verified by the verify-smoke command, the original probed with the smoke one.
    expect(report.verify.checks.map((c) => c.name).join('\n')).toMatch(/smoke: curl .*grep -q/);
    // The job's artifacts: the report and the SBOM next to it.
    const kept = readdirSync(ws).filter((f) => job.artifacts!.paths!.some((p) => picomatch(p)(f)));
    expect(kept.sort()).toEqual(['slim-report.json', 'slim-report.sbom.cdx.json']);
    expect(leftovers(runId)).toEqual({ containers: [], volumes: [] });
  });
});

describe('the GitLab CI template without a source of slim', () => {
  it('fails its first line with one line and exit 2 when SLIM_SOURCE_URL is not set and there is no checkout', () => {
    const job = readGitlabTemplate(join(ROOT, 'ci', 'gitlab', 'slim.gitlab-ci.yml'))['.slim']!;
    const ws = join(work, 'gl-unset');
    mkdirSync(ws);
    const r = runGitlabJob(job, { cwd: ws, env: { ...baseEnv(join(work, 'gl-unset-prefix')), CI_PROJECT_DIR: ws }, variables: { SLIM_IMAGE: fixtureTag('static-bin') } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("slim-ci: error: set SLIM_SOURCE_URL to the git URL of slim's repository (or put a checkout at SLIM_SOURCE)\n");
    expect(readdirSync(ws)).toEqual([]);
  });
});
