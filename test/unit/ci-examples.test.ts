import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildCommand } from '../../src/cli/commands/build.js';
import { evaluate, expressions, readAction, readGitlabTemplate, resolveInputs, type GitlabJob } from '../helpers/ci-runner.js';

const path = (f: string) => fileURLToPath(new URL(`../../${f}`, import.meta.url));
const read = (f: string) => readFileSync(path(f), 'utf8');
const action = readAction(path('action.yml'));
const template = readGitlabTemplate(path('ci/gitlab/slim.gitlab-ci.yml'));
const job = template['.slim']!;
const script = read('scripts/ci-build.sh');
/** The SLIM_* variables the build script reads. */
const scriptVars = new Set([...script.matchAll(/\$\{?(SLIM_[A-Z_]+)/g)].map((m) => m[1]!));
/** Variables slim itself reads, which the script hands over untouched. */
const slimReads = new Set(['SLIM_REGISTRY_USER', 'SLIM_REGISTRY_PASSWORD']);
const buildStep = action.runs.steps.find((s) => s.id === 'build')!;

/** The action and the template run for real in test/integration/ci-templates.test.ts; these keep their parts consistent. */
describe('the GitHub Action (action.yml)', () => {
  it('every input reaches the build script (or slim) as an environment variable, and every ${{ inputs.X }} is a declared input', () => {
    const used = new Map<string, string>();
    for (const step of action.runs.steps) {
      for (const [key, value] of Object.entries(step.env ?? {})) {
        for (const e of expressions(String(value))) {
          const m = e.match(/^inputs\.(.+)$/);
          if (m) used.set(m[1]!, key);
        }
      }
      // Inputs pasted into a command would be run by the shell: they go through env: only.
      expect(expressions(step.run ?? '').filter((e) => e.startsWith('inputs.'))).toEqual([]);
    }
    expect([...used.keys()].sort()).toEqual(Object.keys(action.inputs).sort());
    for (const [input, key] of used) expect(scriptVars.has(key) || slimReads.has(key), `input ${input} as ${key}`).toBe(true);
    for (const e of expressions(read('action.yml'))) {
      const m = e.match(/^inputs\.(.+)$/);
      if (m) expect(Object.keys(action.inputs), e).toContain(m[1]);
    }
  });

  it('every variable the script reads is set by the build step, and every output comes from a step that writes it', () => {
    const env = Object.keys(buildStep.env ?? {});
    for (const v of scriptVars) if (v !== 'SLIM_DOTENV') expect(env, v).toContain(v);
    expect(env).not.toContain('SLIM_DOTENV');
    for (const [name, out] of Object.entries(action.outputs)) {
      expect(out.value, name).toBe(`\${{ steps.build.outputs.${name} }}`);
      // The script writes name=… for each of them.
      expect(script, name).toMatch(new RegExp(`[{ ]"?${name}"?: `));
    }
  });

  it('installs from its own checkout, not from the npm registry by name', () => {
    const install = action.runs.steps[0]!;
    expect(install.env).toEqual({ SLIM_SOURCE: '${{ github.action_path }}' });
    expect(install.run).toBe('sh "$SLIM_SOURCE/scripts/ci-install.sh"');
    const text = read('scripts/ci-install.sh');
    expect(text).toMatch(/npm ci\b/);
    expect(text).toMatch(/npm pack\b/);
    expect(text).toMatch(/npm install --global [^\n]*"\$1"/);
    expect(text).not.toMatch(/npm install (-g|--global) slim/);
  });
});

describe('the build script (scripts/ci-build.sh)', () => {
  it('passes only flags `slim build` has', () => {
    const known = new Set(buildCommand(async () => {}).options.map((o) => o.long));
    const flags = new Set([...script.matchAll(/set -- [^\n]*?(--[a-z-]+)/g)].map((m) => m[1]!));
    for (const m of script.matchAll(/"\$@" (--[a-z-]+)/g)) flags.add(m[1]!);
    expect(flags.size).toBeGreaterThan(10);
    for (const f of flags) expect(known, f).toContain(f);
  });
});

describe('the GitLab CI template (ci/gitlab/slim.gitlab-ci.yml)', () => {
  it('is one hidden job .slim whose variables are strings and set every variable the script reads, as the action does', () => {
    expect(Object.keys(template)).toEqual(['.slim']);
    const vars = job.variables!;
    for (const [k, v] of Object.entries(vars)) expect(typeof v, k).toBe('string');
    for (const v of scriptVars) expect(Object.keys(vars), v).toContain(v);
    for (const v of Object.keys(vars)) {
      const inScripts = scriptVars.has(v) || slimReads.has(v) || job.script.some((l) => l.includes(`$${v}`)) || read('scripts/ci-install.sh').includes(`$${v}`) || read('scripts/ci-install.sh').includes(`{${v}`);
      expect(inScripts, v).toBe(true);
    }
    // The same settings as the action's inputs.
    const fromAction = Object.keys(buildStep.env!).filter((k) => k !== 'SLIM_ACTION_PATH');
    for (const k of fromAction) expect(Object.keys(vars), k).toContain(k);
    expect(job.script.join('\n')).toContain('sh "$SLIM_SOURCE/scripts/ci-build.sh"');
    expect(job.artifacts!.reports!.dotenv).toBe(vars.SLIM_DOTENV);
  });
});

describe('the test runner of the action (test/helpers/ci-runner.ts)', () => {
  const ctx = { inputs: { image: 'a:1', 'http-port': '80' }, actionPath: '/act', steps: { build: { digest: 'sha256:x' } } };
  it('evaluates the expressions the action uses and refuses any other', () => {
    expect(evaluate('${{ inputs.image }} ${{inputs.http-port}} ${{ github.action_path }}/x ${{ steps.build.outputs.digest }}', ctx)).toBe('a:1 80 /act/x sha256:x');
    expect(evaluate('${{ steps.build.outputs.none }}', ctx)).toBe('');
    expect(() => evaluate('${{ inputs.nope }}', ctx)).toThrow(/no such input/);
    expect(() => evaluate('${{ secrets.TOKEN }}', ctx)).toThrow(/not an expression this test knows/);
    expect(() => evaluate('${{ steps.other.outputs.x }}', ctx)).toThrow(/no step with id other/);
  });
  it('completes inputs as GitHub does: defaults, required ones, unknown ones refused', () => {
    const inputs = resolveInputs(action, { image: 'a:1' });
    expect(inputs.report).toBe('slim-report.json');
    expect(inputs.harden).toBe('false');
    expect(() => resolveInputs(action, {})).toThrow(/input required and not supplied: image/);
    expect(() => resolveInputs(action, { image: 'a:1', imgae: 'x' })).toThrow(/unexpected input imgae/);
  });
});

describe('CI examples (examples/ci)', () => {
  it('the GitHub Actions workflow uses the action with inputs it has', () => {
    const wf = parse(read('examples/ci/github-actions.yml')) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    const uses = steps.filter((s) => s.uses && /\/slim@/.test(s.uses));
    expect(uses).toHaveLength(1);
    const given = uses[0]!.with!;
    for (const k of Object.keys(given)) expect(Object.keys(action.inputs), k).toContain(k);
    expect(given).toHaveProperty('image');
    expect(JSON.stringify(wf)).not.toMatch(/npm install/);
  });

  it('the GitLab CI file includes the template and extends .slim with variables it has', () => {
    const ci = parse(read('examples/ci/gitlab-ci.yml')) as Record<string, unknown> & { include: { file: string }[] };
    expect(ci.include.map((i) => i.file)).toEqual(['ci/gitlab/slim.gitlab-ci.yml']);
    const jobs = Object.values(ci).filter((j): j is GitlabJob & { extends: string } => typeof j === 'object' && j !== null && (j as { extends?: string }).extends === '.slim');
    expect(jobs).toHaveLength(1);
    for (const k of Object.keys(jobs[0]!.variables!).filter((v) => v.startsWith('SLIM_'))) expect(Object.keys(job.variables!), k).toContain(k);
    expect(jobs[0]!.variables!.SLIM_IMAGE).toBeTruthy();
    expect(JSON.stringify(ci)).not.toMatch(/npm install/);
  });
});
