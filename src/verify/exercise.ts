import type { RunningContainer } from '../runtime/runtime.js';
import { abortable } from '../runtime/scope.js';
import { runSmokeOnce, sleep } from './smoke.js';
import { runHttpOnce } from './http-check.js';
import { engineHost, portEnv, reachPort } from './endpoint.js';
import type { ContainerNetwork } from '../runtime/runtime.js';
import { readOutputTree, type OutputTree } from './output-tree.js';
import { outputPaths, type Check, type ServiceCheck } from './checks.js';
import { retryStatus } from './retry-status.js';
import type { StatusLine } from '../progress.js';

export type { Check, ServiceCheck } from './checks.js';

export interface CheckResult {
  name: string;
  kind: ServiceCheck['kind'] | 'exit' | 'output';
  passed: boolean;
  attempts: number;
  /** What the last attempt said, in one line. */
  detail: string;
  /** How long the passing attempt took, in seconds: what the check itself costs. */
  attemptSeconds?: number;
}

export interface ExerciseResult {
  passed: boolean;
  /** One line saying what happened, for people. */
  summary: string;
  checks: CheckResult[];
  /** Seconds from start until the first check passed: how long the app takes to be ready. */
  readySeconds?: number;
  /** Set when the container ended by itself. */
  exitCode?: number;
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr as they were written, interleaved: what the summary shows the end of. */
  output: Buffer;
  /** A job's output paths as it left them; undefined where the path did not exist. */
  outputs: Map<string, OutputTree | undefined>;
  seconds: number;
}

/** Runs a check's argv inside the container: plain `docker exec`, or wrapped by the probe to trace it. */
export type ExecRunner = (argv: string[], timeoutSeconds: number) => Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }>;

export interface ExerciseOptions {
  image: string;
  stopTimeout: number;
  signal: AbortSignal;
  /** Replaces the check's own timeout (e.g. derived from how long the original took to be ready). */
  timeoutSeconds?: number;
  /**
   * How long each check's passing attempt took on the original, by name: the check then gets at
   * least a margin over that, both per attempt and after the app is ready, whatever the timeout.
   */
  expected?: ReadonlyMap<string, number>;
  /** Container ports to name in the smoke command's environment (SLIM_PORT_<port>). */
  ports?: number[];
  exec?: ExecRunner;
  /** Run while the service is still up after every check passed (e.g. the image's HEALTHCHECK). */
  whilePassing?: () => Promise<void>;
  /** Where a check being retried shows how it goes (the logger's status line on a terminal). */
  status?: StatusLine;
}

/** Once the app has answered one check, the others get this long to pass: the app is up. */
const READY_GRACE_MS = 10_000;
/** One attempt's first budget: a check that hangs is tried again; one that timed out gets twice as long. */
const FIRST_ATTEMPT_MS = 30_000;

/** The time a check that took `seconds` on the original gets: twice that, and 5 s more. */
export function withMargin(seconds: number): number {
  return Math.ceil((2 * seconds + 5) * 1000);
}

/**
 * Exercise a started container, then stop it. Each check is retried until it passes or the time
 * runs out: that is the readiness wait, with nothing guessed. A container that ends before its
 * checks passed is a failure unless it ended well and they then pass.
 */
export async function exercise(c: RunningContainer, check: Check, opts: ExerciseOptions): Promise<ExerciseResult> {
  const started = Date.now();
  const finish = async (r: Pick<ExerciseResult, 'passed' | 'summary' | 'checks'> & Partial<ExerciseResult>, stop: boolean): Promise<ExerciseResult> => {
    if (stop) await c.stop(opts.stopTimeout);
    const { stdout, stderr, output } = await c.logs();
    return { outputs: new Map(), ...r, stdout, stderr, output: output ?? Buffer.concat([stdout, stderr]), seconds: (Date.now() - started) / 1000 };
  };

  if (check.kind === 'job') {
    const exitCode = await abortable(c.wait(), opts.signal);
    const outputs = new Map<string, OutputTree | undefined>();
    for (const p of outputPaths(check)) outputs.set(p, await c.copyOut(p).then((archive) => readOutputTree(archive, p), () => undefined));
    const passed = exitCode === 0;
    const checks: CheckResult[] = [{ name: 'exit code', kind: 'exit', passed, attempts: 1, detail: `exited ${exitCode}` }];
    return finish({ passed, exitCode, checks, outputs, summary: passed ? 'job exited 0' : `job exited with code ${exitCode}` }, false);
  }

  const engine = engineHost();
  const net = await c.network();
  const env = { SLIM_CONTAINER: c.id, SLIM_IMAGE: opts.image, ...portEnv(net, opts.ports ?? [], engine) };
  const exec: ExecRunner = opts.exec ?? ((argv, timeoutSeconds) => c.exec(argv, { timeoutSeconds }));
  const deadline = started + (opts.timeoutSeconds ?? check.timeoutSeconds) * 1000;
  const results: CheckResult[] = [];
  let readySeconds: number | undefined;
  let exited: number | undefined;

  for (const one of check.checks) {
    if (exited !== undefined) {
      results.push({ name: one.name, kind: one.kind, passed: false, attempts: 0, detail: `not run: the container had exited (code ${exited})` });
      continue;
    }
    const known = opts.expected?.get(one.name);
    const need = known !== undefined ? withMargin(known) : 0;
    // One attempt may run until the deadline, or longer for a check known to take long (a full
    // test suite is not a readiness check); once the app is ready, a check that keeps failing is
    // retried for READY_GRACE_MS only.
    const now = Date.now();
    const runUntil = Math.max(deadline, now + need);
    const retryUntil = readySeconds === undefined ? runUntil : Math.max(Math.min(deadline, now + READY_GRACE_MS), now + need);
    let attempts = 0;
    let delay = 200;
    let cap = Math.max(FIRST_ATTEMPT_MS, need);
    const shown = retryStatus(opts.status, one.name, started);
    try {
      for (;;) {
        opts.signal.throwIfAborted();
        const before = await c.state();
        attempts++;
        const budget = Math.max(1000, Math.min(cap, runUntil - Date.now()));
        const t0 = Date.now();
        const r = await attempt(one, { env, net, engine, budget, exec, signal: opts.signal, httpPort: check.httpPort });
        opts.signal.throwIfAborted();
        if (r.ok) {
          readySeconds ??= (Date.now() - started) / 1000;
          results.push({ name: one.name, kind: one.kind, passed: true, attempts, detail: r.detail, attemptSeconds: (Date.now() - t0) / 1000 });
          break;
        }
        // It ran out of time rather than failed: a slow suite, not a hang, may need longer.
        if (Date.now() - t0 >= budget - 50) cap *= 2;
        if (!before.running) {
          // It had already ended when this attempt ran: that attempt was the last chance.
          exited = before.exitCode;
          results.push({ name: one.name, kind: one.kind, passed: false, attempts, detail: `the container exited with code ${before.exitCode}; last attempt: ${oneLine(r.detail)}` });
          break;
        }
        if (Date.now() + delay > retryUntil) {
          results.push({ name: one.name, kind: one.kind, passed: false, attempts, detail: `did not pass within ${Math.round((Math.max(retryUntil, Date.now()) - started) / 1000)}s (${attempts} attempts): ${oneLine(r.detail)}` });
          break;
        }
        shown.failed(attempts, r.detail);
        await sleep(delay, opts.signal);
        delay = Math.min(delay * 2, 2000);
      }
    } finally {
      shown.done();
    }
  }

  const failed = results.find((r) => !r.passed);
  const running = (await c.state()).running;
  if (!failed && running) await opts.whilePassing?.();
  const summary = failed ? `${failed.name}: ${failed.detail}` : `${results.length === 1 ? 'the check' : `all ${results.length} checks`} passed`;
  return finish({ passed: !failed, summary, checks: results, ...(readySeconds !== undefined ? { readySeconds } : {}), ...(exited !== undefined ? { exitCode: exited } : {}) }, running);
}

async function attempt(
  check: ServiceCheck,
  ctx: { env: Record<string, string>; net: ContainerNetwork; engine: { host: string; local: boolean }; budget: number; exec: ExecRunner; signal: AbortSignal; httpPort: number | undefined },
): Promise<{ ok: boolean; detail: string }> {
  switch (check.kind) {
    case 'smoke': {
      const r = await runSmokeOnce(check.command, ctx.env, ctx.budget, ctx.signal);
      return { ok: r.ok, detail: r.ok ? 'exited 0' : r.timedOut ? `timed out after ${Math.round(ctx.budget / 1000)}s` : r.output || `exited ${r.exitCode}` };
    }
    case 'http': {
      const port = check.request.port ?? ctx.httpPort!;
      return runHttpOnce(check.request, reachPort(ctx.net, port, ctx.engine), ctx.budget, ctx.signal);
    }
    case 'exec': {
      const r = await ctx.exec(check.argv, Math.ceil(ctx.budget / 1000));
      const said = (r.stderr.toString() || r.stdout.toString()).trim().split('\n').pop() ?? '';
      return { ok: r.exitCode === 0, detail: `exited ${r.exitCode}${r.exitCode !== 0 && said ? `: ${said}` : ''}` };
    }
  }
}

export function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max) + '…' : t;
}
