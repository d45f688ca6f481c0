import { afterEach, describe, expect, it } from 'vitest';
import { repairLoop, type Attempt, type RepairInputs } from '../../src/pipeline/repair-loop.js';
import { PhaseClock, type Phase } from '../../src/pipeline/phase-clock.js';
import type { Verdict } from '../../src/verify/checks.js';
import { Scope } from '../../src/runtime/scope.js';
import { createLogger } from '../../src/log.js';
import { MemoryRuntime } from '../helpers/memory-runtime.js';

/** Stands for what the loop must not look at: any use of it fails the test. */
const untouchable = <T>(what: string): T =>
  new Proxy({}, { get: (_, p) => { throw new Error(`${what}.${String(p)} was used`); } }) as T;

const failing: Verdict = {
  passed: false,
  summary: 'exit code: exited 127, the original 0: /app/run: not found',
  checks: [{ name: 'exit code', original: 'pass', slim: 'fail', detail: 'exited 127, the original 0: /app/run: not found' }],
};
const passing: Verdict = { passed: true, summary: 'job exited 0 with the same output as the original', checks: [{ name: 'exit code', original: 'pass', slim: 'pass', detail: 'both exited 0' }] };

let scope: Scope;
afterEach(async () => {
  expect(await scope.dispose()).toEqual([]);
});

async function loop(verdict: Verdict, rounds: number) {
  const mem = new MemoryRuntime();
  const lines: string[] = [];
  scope = new Scope();
  const deps = { runtime: mem, log: createLogger({ level: 'debug', write: (l) => lines.push(l) }), scope };
  const packs: number[] = [];
  const clock = new PhaseClock();
  const first: Attempt = { records: [], closed: untouchable('closed'), packed: untouchable('packed'), verdict };
  const inputs: RepairInputs = {
    opened: untouchable('opened'),
    plan: untouchable('plan'),
    baseline: untouchable('baseline'),
    policy: untouchable('policy'),
    packages: untouchable('packages'),
    harden: false,
    rounds,
    pack: async (_closed, round) => {
      packs.push(round);
      throw new Error('packed');
    },
    clock,
  };
  const out = await repairLoop(first, inputs, deps);
  return { out, first, mem, lines, packs, spent: (['repair', 'pack', 'verify'] as Phase[]).map((p) => clock.seconds(p)) };
}

describe('repairLoop', () => {
  it('with rounds 0, a failing image is reported as off and nothing is traced, packed or run', async () => {
    const { out, first, mem, lines, packs, spent } = await loop(failing, 0);
    expect(out.repair).toEqual({ result: 'off', rounds: 0, added: [] });
    expect(out.verdict).toBe(failing);
    expect(out.packed).toBe(first.packed);
    expect(out.closed).toBe(first.closed);
    expect(mem.calls).toEqual([]);
    expect(packs).toEqual([]);
    expect(spent).toEqual([0, 0, 0]);
    expect(lines).toEqual([]);
  });

  it('a passing image needs no repair, whatever the rounds allowed', async () => {
    const { out, first, mem, packs, spent } = await loop(passing, 3);
    expect(out.repair).toEqual({ result: 'not-needed', rounds: 0, added: [] });
    expect(out.verdict).toBe(passing);
    expect(out.packed).toBe(first.packed);
    expect(mem.calls).toEqual([]);
    expect(packs).toEqual([]);
    expect(spent).toEqual([0, 0, 0]);
  });
});
