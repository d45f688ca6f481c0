import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BuildReport } from '../../src/report/report.js';
import { docker } from './engine.js';

export const SLIM_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface SlimRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  report?: BuildReport;
  /** The run id passed to slim: what it created carries io.slim.run=<runId>. */
  runId: string;
}

let runs = 0;

/** Run the real CLI (the built dist), as a user would. */
export function runSlim(args: string[], opts: { env?: Record<string, string>; input?: string; onStderr?: (chunk: string, kill: (s: NodeJS.Signals) => void) => void; onSpawn?: (kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<SlimRun> {
  const runId = `t${process.pid}-${++runs}-${Date.now().toString(36)}`;
  const withId = args[0] === 'build' || args[0] === 'probe' || args[0] === 'debug'
    ? [args[0], '--run-id', runId, ...args.slice(1)]
    : args[0] === 'fleet' && args[1] === 'build' ? ['fleet', 'build', '--run-id', runId, ...args.slice(2)] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLIM_BIN, ...withId], { env: { ...process.env, ...opts.env }, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    // Given input is a pipe that ends after it: what `echo … | slim …` gives.
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      opts.onStderr?.(stderr, (s) => child.kill(s));
    });
    opts.onSpawn?.((s) => child.kill(s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let report: BuildReport | undefined;
      if (args.includes('--json') && stdout.trim().startsWith('{')) report = JSON.parse(stdout) as BuildReport;
      resolve({ code, signal, stdout, stderr, runId, ...(report ? { report } : {}) });
    });
  });
}

// A range of 1,000 ports per vitest worker (VITEST_POOL_ID tells the ones running at once apart),
// so parallel workers never meet; a random start within it for each test file, which the same
// worker runs after the last one's containers are gone, and away from other runs on the machine.
const pool = Number(process.env.VITEST_POOL_ID ?? 0) % 20;
let nextPort = 20000 + pool * 1000 + Math.floor(Math.random() * 45) * 20;
/** A port per test, so parallel tests with host networking never collide. */
export function freePort(): number {
  return nextPort++;
}

/**
 * Run `image` as a service on host networking with PORT set to a free port, hand `use` a GET that
 * retries (every 200 ms, 10 s in all) until the service answers, and remove the container after.
 */
export async function whileServing(image: string, use: (get: (path: string) => Promise<string>) => Promise<void>): Promise<void> {
  const port = freePort();
  const id = docker(['run', '-d', '--network', 'host', '-e', `PORT=${port}`, image]).trim();
  const get = async (path: string): Promise<string> => {
    for (let i = 0; i < 50; i++) {
      try {
        return execFileSync('curl', ['-fsS', `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return '';
  };
  try {
    await use(get);
  } finally {
    docker(['rm', '-f', id]);
  }
}

/** `slim build IMAGE -t TAG --json` of a service on host networking, PORT a free port, with the smoke check made for that port, without repair. */
export function buildService(image: string, tag: string, smoke: (port: number) => string, more: string[] = []): Promise<SlimRun> {
  const port = freePort();
  return runSlim(['build', image, '-t', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', smoke(port), '--no-repair', '--json', ...more]);
}
