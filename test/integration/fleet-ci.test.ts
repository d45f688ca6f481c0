import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEngine } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { SLIM_BIN, freePort } from '../helpers/slim.js';
import type { FleetPlanFile } from '../../src/fleet/fleet-plan.js';

/**
 * examples/ci/fleet-matrix.yml for real: its jobs' `run:` commands, in job order and for each
 * matrix entry, against the loopback registry, with `slim` the built CLI. The originals are
 * pushed first; the workflow's `uses:` steps (checkout, artifacts) are the shared directory here.
 */

const workflow = fileURLToPath(new URL('../../examples/ci/fleet-matrix.yml', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'slim-fleet-ci-'));
let reg: TestRegistry;

interface Step { run?: string; uses?: string }
interface Job { needs?: string; strategy?: { matrix: { include?: Record<string, string>[] } & Record<string, unknown> }; steps: Step[] }

/** The matrix entries of a job: its include list, or the product of its one axis. */
function entries(job: Job): Record<string, string>[] {
  const m = job.strategy?.matrix;
  if (!m) return [{}];
  if (m.include) return m.include;
  const [axis, values] = Object.entries(m)[0]!;
  return (values as string[]).map((v) => ({ [axis]: v }));
}

/** `${{ … }}` as GitHub Actions would expand them here: matrix values, github.sha, github.repository_owner. */
function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new Error(`the test does not know \${{ ${name} }}`);
    return vars[name]!;
  });
}

beforeAll(async () => {
  requireEngine();
  reg = await startRegistry();
  // The apps of the matrix: api is a Python service, worker a shell job.
  for (const [app, fixture] of [['api', 'python-http'], ['worker', 'shell-job']] as const) {
    execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `docker-daemon:${fixtureTag(fixture)}`, `docker://${reg.host}/owner/${app}:abc123`], { stdio: 'pipe' });
  }
  // `slim` on PATH is this checkout's CLI, as the installed package would be.
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'slim'), `#!/bin/sh\nexec "${process.execPath}" "${SLIM_BIN}" "$@"\n`, { mode: 0o755 });
}, 300_000);
afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('examples/ci/fleet-matrix.yml', () => {
  it('its slim, plan and pack jobs run as written: each app is slimmed and pushed, planned once, repacked with the same shared blobs', () => {
    const doc = parse(readFileSync(workflow, 'utf8')) as { env: Record<string, string>; jobs: Record<string, Job> };
    expect(Object.keys(doc.jobs)).toEqual(['slim', 'plan', 'pack']);
    expect(doc.jobs.plan!.needs).toBe('slim');
    expect(doc.jobs.pack!.needs).toBe('plan');
    const port = String(freePort());
    const base = { 'github.sha': 'abc123', 'github.repository_owner': 'owner' };
    const env = { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}`, REGISTRY: expand(doc.env.REGISTRY!, base).replace(/^ghcr\.io/, reg.host) };
    const ran: string[] = [];
    const packLogs: string[] = [];
    for (const [name, job] of Object.entries(doc.jobs)) {
      for (const m of entries(job)) {
        const vars = { ...base, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [`matrix.${k}`, String(v).replaceAll('8080', port)])) };
        for (const step of job.steps) {
          if (!step.run || step.run.startsWith('npm install')) continue;
          const cmd = expand(step.run, vars);
          const r = spawnSync('sh', ['-c', cmd], { cwd: work, env, encoding: 'utf8', timeout: 600_000 });
          expect(r.status, `${name} ${JSON.stringify(m)}: ${cmd}\n${r.stderr}`).toBe(0);
          ran.push(`${name}: ${cmd.split(' ').slice(0, 3).join(' ')}`);
          if (name === 'pack') packLogs.push(r.stderr);
        }
      }
    }
    expect(ran).toHaveLength(5);
    const plan = JSON.parse(readFileSync(join(work, 'fleet-plan.json'), 'utf8')) as FleetPlanFile;
    expect(plan.images.map((i) => i.ref)).toEqual([`${reg.host}/owner/api-slim:abc123`, `${reg.host}/owner/worker-slim:abc123`]);
    expect(plan.images.every((i) => i.source.id.startsWith('sha256:'))).toBe(true);
    expect(plan.shared.length).toBeGreaterThan(0);
    const layers = (app: string) => (JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/owner/${app}-slim:abc123-fleet`], { encoding: 'utf8' })) as { Layers: string[] }).Layers;
    const [api, worker] = [layers('api'), layers('worker')];
    for (const s of plan.shared) {
      expect(api).toContain(s.digest);
      expect(worker).toContain(s.digest);
    }
    expect(api.at(-1)).not.toBe(worker.at(-1));
    // Each pack read its files from the original the evidence names, not from the slim image.
    for (const [k, app] of ['api', 'worker'].entries()) expect(packLogs[k]).toMatch(new RegExp(`from registry:${reg.host.replace(/[.]/g, '\\.')}/owner/${app}:abc123, the same \\d+ entries as its single-layer image`));
    // The wrong original is refused before anything is packed or pushed.
    const wrong = spawnSync('sh', ['-c', `slim fleet pack --plan fleet-plan.json "$REGISTRY/api-slim:abc123" --from "registry:$REGISTRY/worker:abc123" -o "registry:$REGISTRY/api-slim:wrong"`], { cwd: work, env, encoding: 'utf8' });
    expect(wrong.status, wrong.stderr).toBe(1);
    expect(wrong.stderr).toMatch(/slim: error: registry:\S+\/owner\/worker:abc123 is sha256:\w+, but \S+\/owner\/api-slim:abc123 was slimmed from sha256:\w+/);
    expect(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/owner/api-slim:wrong`]).status).not.toBe(0);
    // The second job finds the shared blobs the first pushed, in the fleet's other repository, and mounts them.
    expect(packLogs[1]).toMatch(new RegExp(`blobs uploaded \\d+, mounted ${plan.shared.length}, already there 0`));
  });
});
