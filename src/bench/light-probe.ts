import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BuildReport } from '../report/report.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A service fixture, its readiness check and its full test, as CLI flags. */
export interface LightCase {
  name: string;
  image: string;
  /** What every run of it needs (port, network); {port} stands for the run's port. */
  run: string[];
  /** The readiness check: `--http-probe` requests. */
  light: string[];
  /** The full test: `--http-probe` requests. */
  full: string[];
}

interface Timed {
  seconds: number;
  rounds: number;
  passed: boolean;
}

async function timedBuild(args: string[]): Promise<Timed> {
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
  const seconds = (Date.now() - t) / 1000;
  const report = stdout.trim().startsWith('{') ? (JSON.parse(stdout) as BuildReport) : undefined;
  if (!report) throw new Error(`slim build ${args.join(' ')} gave no report (exit ${code}): ${stderr.trim().split('\n').pop()}`);
  return { seconds, rounds: report.repair.rounds, passed: code === 0 };
}

/**
 * What users run, a light probe (a readiness check) with the full test as --verify-* checks and
 * repair on, against a build probed with the full test itself: wall time as a ratio, and rounds.
 */
export async function lightVsFull(cases: LightCase[], port: () => number, removeTag: (ref: string) => Promise<void>, say: (s: string) => void): Promise<void> {
  for (const c of cases) {
    const p = port();
    const run = c.run.map((a) => a.replaceAll('{port}', String(p)));
    const asProbe = (reqs: string[]) => reqs.flatMap((r) => ['--http-probe', r]);
    const asVerify = (reqs: string[]) => reqs.flatMap((r) => ['--verify-http-probe', r]);
    const tags = [`slim-bench/${c.name}:light-${p}`, `slim-bench/${c.name}:full-${p}`];
    try {
      const light = await timedBuild([c.image, '--tag', tags[0]!, ...run, ...asProbe(c.light), ...asVerify(c.full)]);
      const full = await timedBuild([c.image, '--tag', tags[1]!, ...run, ...asProbe(c.full)]);
      const verdict = (t: Timed) => (t.passed ? 'pass' : 'FAIL');
      say(`  ${c.name.padEnd(15)} light probe + full verify ${light.seconds.toFixed(1)} s (${verdict(light)}, ${light.rounds} repair round${light.rounds === 1 ? '' : 's'}), probed with the full test ${full.seconds.toFixed(1)} s (${verdict(full)}), ratio ${(light.seconds / full.seconds).toFixed(2)}x`);
    } finally {
      for (const t of tags) await removeTag(t).catch(() => {});
    }
  }
}
