import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Just enough of GitHub Actions and GitLab CI to run slim's action.yml and GitLab template on this
 * machine: their commands run for real in a shell, with the expressions they use substituted the
 * way the runners do. Any other expression is an error, so a new one cannot slip by untested.
 */

export interface ActionInput { description?: string; required?: boolean; default?: string }
export interface ActionStep { name?: string; id?: string; shell?: string; env?: Record<string, string>; run?: string; uses?: string }
export interface Action {
  inputs: Record<string, ActionInput>;
  outputs: Record<string, { description?: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export function readAction(file: string): Action {
  return parse(readFileSync(file, 'utf8')) as Action;
}

export interface ExprContext {
  inputs: Record<string, string>;
  actionPath: string;
  steps: Record<string, Record<string, string>>;
}

const EXPR = /\$\{\{\s*(.*?)\s*\}\}/g;

/** Every `${{ … }}` expression in a text, as written inside the braces. */
export function expressions(text: string): string[] {
  return [...text.matchAll(EXPR)].map((m) => m[1]!);
}

/** `${{ inputs.X }}`, `${{ github.action_path }}` and `${{ steps.ID.outputs.X }}`, as GitHub evaluates them. */
export function evaluate(text: string, ctx: ExprContext): string {
  return text.replace(EXPR, (_, expr: string) => {
    let m: RegExpMatchArray | null;
    if ((m = expr.match(/^inputs\.([A-Za-z0-9_-]+)$/))) {
      if (!(m[1]! in ctx.inputs)) throw new Error(`\${{ ${expr} }}: no such input`);
      return ctx.inputs[m[1]!]!;
    }
    if (expr === 'github.action_path') return ctx.actionPath;
    if ((m = expr.match(/^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/))) {
      const step = ctx.steps[m[1]!];
      if (!step) throw new Error(`\${{ ${expr} }}: no step with id ${m[1]} ran`);
      return step[m[2]!] ?? '';
    }
    throw new Error(`\${{ ${expr} }}: not an expression this test knows`);
  });
}

/** The inputs a workflow's `with:` gives, completed as GitHub does: defaults, required ones checked, unknown ones refused. */
export function resolveInputs(action: Action, given: Record<string, string>): Record<string, string> {
  for (const k of Object.keys(given)) if (!(k in action.inputs)) throw new Error(`unexpected input ${k}`);
  const out: Record<string, string> = {};
  for (const [k, spec] of Object.entries(action.inputs)) {
    const v = given[k] ?? spec.default ?? '';
    if (spec.required && v === '') throw new Error(`input required and not supplied: ${k}`);
    out[k] = String(v);
  }
  return out;
}

/** A GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = line.match(/^([^=]+)<<(.+)$/);
    if (heredoc) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== heredoc[2]) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** The command line GitHub runs a step's script file with, per `shell:`. */
function shellCommand(shell: string, file: string): string[] {
  if (shell === 'sh') return ['sh', '-e', file];
  if (shell === 'bash') return ['bash', '--noprofile', '--norc', '-eo', 'pipefail', file];
  throw new Error(`shell ${shell}: not one this test runs`);
}

export interface StepRun { name: string; status: number | null; stdout: string; stderr: string; outputs: Record<string, string>; summary: string }
export interface ActionRun { steps: StepRun[]; outputs: Record<string, string>; path: string[] }

/**
 * Runs a composite action's steps in order, as the runner does: each step's `env:` and `run:`
 * evaluated, its own GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH files, what a step adds to
 * GITHUB_PATH put before PATH for the steps after it; it stops at the first step that fails.
 */
export function runAction(action: Action, opts: { inputs: Record<string, string>; actionPath: string; cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): ActionRun {
  if (action.runs.using !== 'composite') throw new Error(`runs.using ${action.runs.using}: only composite actions run here`);
  const ctx: ExprContext = { inputs: resolveInputs(action, opts.inputs), actionPath: opts.actionPath, steps: {} };
  const files = mkdtempSync(join(tmpdir(), 'slim-runner-'));
  const added: string[] = [];
  const steps: StepRun[] = [];
  try {
    action.runs.steps.forEach((step, i) => {
      if (step.uses || step.run === undefined) throw new Error(`step ${i}: only run: steps run here`);
      const f = (n: string) => join(files, `${i}-${n}`);
      for (const n of ['output', 'summary', 'path']) writeFileSync(f(n), '');
      writeFileSync(f('script'), evaluate(step.run, ctx));
      const env: NodeJS.ProcessEnv = {
        ...opts.env,
        ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(String(v), ctx)])),
        PATH: [...added, opts.env.PATH ?? ''].join(':'),
        GITHUB_ACTIONS: 'true',
        CI: 'true',
        GITHUB_ACTION_PATH: opts.actionPath,
        GITHUB_WORKSPACE: opts.cwd,
        GITHUB_OUTPUT: f('output'),
        GITHUB_STEP_SUMMARY: f('summary'),
        GITHUB_PATH: f('path'),
      };
      if (!step.shell) throw new Error(`step ${i}: a composite action's run: step needs shell:`);
      const [cmd, ...args] = shellCommand(step.shell, f('script'));
      const r = spawnSync(cmd!, args, { cwd: opts.cwd, env, encoding: 'utf8', timeout: opts.timeoutMs ?? 540_000, maxBuffer: 64 * 1024 * 1024 });
      const outputs = parseOutputFile(readFileSync(f('output'), 'utf8'));
      if (step.id) ctx.steps[step.id] = outputs;
      added.unshift(...readFileSync(f('path'), 'utf8').split('\n').filter(Boolean).reverse());
      steps.push({ name: step.name ?? `step ${i}`, status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? `\n${r.error.message}` : ''), outputs, summary: readFileSync(f('summary'), 'utf8') });
      if (r.status !== 0) throw new StopRun();
    });
  } catch (err) {
    if (!(err instanceof StopRun)) throw err;
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs ?? {}).map(([k, o]) => [k, evaluateOutput(o.value, ctx)]));
  return { steps, outputs, path: added };
}

class StopRun extends Error {}

/** An output whose step did not run is empty, as on GitHub. */
function evaluateOutput(value: string, ctx: ExprContext): string {
  return value.replace(EXPR, (whole, expr: string) => {
    const m = expr.match(/^steps\.([A-Za-z0-9_-]+)\.outputs\./);
    return m && !ctx.steps[m[1]!] ? '' : evaluate(whole, ctx);
  });
}

export interface GitlabJob { image?: string; variables?: Record<string, string>; before_script?: string[]; script: string[]; artifacts?: { when?: string; paths?: string[]; reports?: Record<string, string> } }

export function readGitlabTemplate(file: string): Record<string, GitlabJob> {
  return parse(readFileSync(file, 'utf8')) as Record<string, GitlabJob>;
}

/** `$X` and `${X}` in a variable's value, expanded from the variables before it, as GitLab does. */
export function expandVariables(vars: Record<string, string>, base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) {
    env[k] = String(v).replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, a?: string, b?: string) => env[(a ?? b)!] ?? base[(a ?? b)!] ?? '');
  }
  return env;
}

/**
 * Runs a GitLab job's before_script and script lines in one shell, as the runner does (a failing
 * line stops the job), with the job's variables (the template's, overridden as an `extends:` would)
 * in the environment.
 */
export function runGitlabJob(job: GitlabJob, opts: { variables: Record<string, string>; cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string } {
  for (const k of Object.keys(opts.variables)) if (!(k in (job.variables ?? {}))) throw new Error(`the template has no variable ${k}`);
  const vars = expandVariables({ ...job.variables, ...opts.variables }, opts.env);
  const script = [...(job.before_script ?? []), ...job.script].join('\n');
  const r = spawnSync('sh', ['-e', '-c', script], { cwd: opts.cwd, env: { ...opts.env, CI: 'true', GITLAB_CI: 'true', ...vars }, encoding: 'utf8', timeout: opts.timeoutMs ?? 540_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? `\n${r.error.message}` : '') };
}
