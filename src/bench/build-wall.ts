import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BuildReport } from '../report/report.js';
import type { Runtime } from '../runtime/runtime.js';
import { Scope } from '../runtime/scope.js';
import type { Logger } from '../log.js';
import type { BuildOptions } from '../pipeline/build-types.js';
import { verifyPlanOf } from '../pipeline/verify-step.js';
import { runChecked } from '../pipeline/verify-run.js';
import { buildCommand } from '../cli/commands/build.js';
import { toBuildOptions, type BuildFlags } from '../cli/options.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A fixture and the flags of its check; {port} stands for the run's port. */
export interface WallCase {
  name: string;
  image: string;
  args: string[];
}

/** The build options the CLI would make of these flags, parsed by the CLI's own command. */
async function optionsOf(image: string, args: string[]): Promise<BuildOptions> {
  let flags: BuildFlags | undefined;
  const cmd = buildCommand(async (_action, f) => void (flags = f as BuildFlags));
  await cmd.parseAsync([image, ...args], { from: 'user' });
  return toBuildOptions(image, flags!);
}

/** One run of the original as the verifier runs it: container start, the check passed, container gone. */
async function plainRun(runtime: Runtime, log: Logger, opts: BuildOptions): Promise<number> {
  const inspect = await runtime.inspectImage(opts.image);
  if (!inspect) throw new Error(`${opts.image} is not in the engine`);
  const plan = verifyPlanOf(opts.verifyCheck, opts.settings, inspect.config);
  const scope = new Scope();
  try {
    const t = Date.now();
    const run = await runChecked({ runtime, scope, log }, inspect.id, plan.settings, plan.check, 'bench-plain', plan.config, { ports: plan.ports });
    if (!run.passed) throw new Error(`the plain run of ${opts.image} failed: ${run.summary}`);
    return (Date.now() - t) / 1000;
  } finally {
    await scope.dispose();
  }
}

export async function timedBuild(args: string[]): Promise<{ seconds: number; report: BuildReport }> {
  const t = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'build', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  if (code !== 0 || !stdout.trim().startsWith('{')) throw new Error(`slim build ${args.join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').pop()}`);
  return { seconds: (Date.now() - t) / 1000, report: JSON.parse(stdout) as BuildReport };
}

/**
 * The wall time of `slim build` (default outputs) against one plain run of the original through
 * the same check, measured alongside: a verifying build needs at least two runs of the app and a pack.
 */
export async function buildWall(cases: WallCase[], port: () => number, runtime: Runtime, log: Logger, say: (s: string) => void): Promise<number[]> {
  const ratios: number[] = [];
  say('  fixture          plain run   build   ratio   read  probe closure  pack verify repair (s)');
  for (const c of cases) {
    const p = port();
    const args = c.args.map((a) => a.replaceAll('{port}', String(p)));
    const tag = `slim-bench/${c.name}:wall-${p}`;
    try {
      const plain = await plainRun(runtime, log, await optionsOf(c.image, args));
      const { seconds, report } = await timedBuild([c.image, '--tag', tag, ...args]);
      const t = report.timings;
      const ratio = seconds / plain;
      ratios.push(ratio);
      const f = (n: number) => n.toFixed(1).padStart(6);
      say(`  ${c.name.padEnd(15)} ${f(plain)} s ${f(seconds)} s ${ratio.toFixed(2).padStart(6)}x ${f(t.read)}${f(t.probe)}${f(t.closure)}${f(t.pack)}${f(t.verify)}${f(t.repair)}`);
    } finally {
      await runtime.removeTag(tag).catch(() => {});
    }
  }
  const worst = Math.max(...ratios);
  say(`  worst ratio ${worst.toFixed(2)}x (aim: at most 3x on every fixture)`);
  return ratios;
}
