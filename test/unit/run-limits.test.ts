import { describe, expect, it } from 'vitest';
import { limitsFrom } from '../../src/pipeline/verify-run.js';
import { failingOnly } from '../../src/pipeline/repair.js';
import { withMargin, type ExerciseResult } from '../../src/verify/exercise.js';
import type { Check } from '../../src/verify/checks.js';

const service: Check = {
  kind: 'service',
  timeoutSeconds: 60,
  checks: [
    { kind: 'http', name: 'GET /health', request: { method: 'GET', path: '/health' } as never },
    { kind: 'smoke', name: 'smoke: suite', command: 'run-suite' },
  ],
};
const run = (readySeconds: number | undefined, attempts: Record<string, number>): ExerciseResult => ({
  passed: true,
  summary: '',
  checks: Object.entries(attempts).map(([name, s]) => ({ name, kind: 'smoke', passed: true, attempts: 1, detail: '', attemptSeconds: s })),
  ...(readySeconds !== undefined ? { readySeconds } : {}),
  stdout: Buffer.alloc(0),
  stderr: Buffer.alloc(0),
  output: Buffer.alloc(0),
  outputs: new Map(),
  seconds: 0,
});

describe('run limits from the baseline run', () => {
  it('readiness: four times the original, at least 15 s, at most the timeout', () => {
    expect(limitsFrom(service, run(1, {})).timeoutSeconds).toBe(15);
    expect(limitsFrom(service, run(6, {})).timeoutSeconds).toBe(24);
    expect(limitsFrom(service, run(40, {})).timeoutSeconds).toBe(60);
  });

  it("each check's own duration, whatever the readiness", () => {
    const l = limitsFrom(service, run(0.5, { 'GET /health': 0.01, 'smoke: suite': 17.2 }));
    expect(l.expected?.get('smoke: suite')).toBe(17.2);
    expect(withMargin(17.2)).toBe(39_400);
    expect(withMargin(17.2)).toBeGreaterThan(l.timeoutSeconds! * 1000);
  });

  it('a job has none: it runs until it exits', () => {
    expect(limitsFrom({ kind: 'job', compareOutputs: [] }, run(undefined, {}))).toEqual({});
  });
});

describe('repair traces the failing checks only', () => {
  it('narrows a service check to the failing ones; all of it when none of them is named (the HEALTHCHECK failed)', () => {
    expect(failingOnly(service, ['smoke: suite'])).toMatchObject({ checks: [{ name: 'smoke: suite' }] });
    expect(failingOnly(service, ['HEALTHCHECK'])).toBe(service);
    const job: Check = { kind: 'job', compareOutputs: ['/out'] };
    expect(failingOnly(job, ['stdout'])).toBe(job);
  });
});
