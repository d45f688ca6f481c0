import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BuildReport } from '../../src/report/report.js';

export const SLIM_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface SlimRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  report?: BuildReport;
}

/** Run the real CLI (the built dist), as a user would. */
export function runSlim(args: string[], opts: { env?: Record<string, string>; onStderr?: (chunk: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<SlimRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLIM_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      opts.onStderr?.(stderr, (s) => child.kill(s));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let report: BuildReport | undefined;
      if (args.includes('--json') && stdout.trim().startsWith('{')) report = JSON.parse(stdout) as BuildReport;
      resolve({ code, signal, stdout, stderr, ...(report ? { report } : {}) });
    });
  });
}

let nextPort = 19000 + (process.pid % 50) * 20;
/** A port per test, so parallel tests with host networking never collide. */
export function freePort(): number {
  return nextPort++;
}
