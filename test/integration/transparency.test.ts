import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

// The probe must be invisible: the app sees the process `docker run` would give it with the same
// settings. probe-view prints that view (ids, capability sets, NoNewPrivs, seccomp, signals,
// umask, stdio, extra fds, rlimits, cwd, hostname, environment); the README documents each line
// that may differ, and why. Nothing else may.
const ALWAYS_DIFFERENT = ['status: Pid:', 'status: PPid:', 'status: TracerPid:'];
// strace's seccomp filter needs no_new_privs: harmless until the app execs a setuid/setgid or
// file-capability file, and then slim probes again without the filter (the VIEW_SETUID cases).
const STRACE_FILTER = ['status: NoNewPrivs:', 'status: Seccomp_filters:'];

const work = mkdtempSync(join(tmpdir(), 'slim-transparency-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The view with what differs between any two containers (ids, the port given) made neutral. */
function normalise(view: string, port: number): string[] {
  return view
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/\b[0-9a-f]{12}\b/g, '<container>').replace(`PORT=${port}`, 'PORT=<port>'));
}

async function untilLogged(id: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const out = docker(['logs', id]);
    if (out.includes('end of view')) return out;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`probe-view did not print its view: ${docker(['logs', id])}`);
}

async function plainView(run: string[]): Promise<{ lines: string[]; raw: string }> {
  const port = freePort();
  const id = docker(['run', '-d', '--network', 'host', '-e', `PORT=${port}`, ...run, fixtureTag('probe-view')]).trim();
  try {
    const raw = await untilLogged(id);
    return { lines: normalise(raw, port), raw };
  } finally {
    docker(['rm', '-f', '-v', id]);
  }
}

async function probedView(backend: string, run: string[]): Promise<{ lines: string[]; raw: string; stderr: string }> {
  const port = freePort();
  const out = join(work, `view-${backend}-${port}.txt`);
  const smoke = `docker logs "$SLIM_CONTAINER" 2>/dev/null > ${out} && grep -q 'end of view' ${out} && curl -fsS --max-time 5 http://127.0.0.1:${port}/ | grep -q view-ok`;
  const r = await runSlim(['probe', fixtureTag('probe-view'), '--probe', backend, '--network', 'host', '-e', `PORT=${port}`, ...run, '--smoke', smoke, '--trace-out', join(work, `t-${port}.jsonl`)]);
  expect(r.code, r.stderr).toBe(0);
  expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  const raw = readFileSync(out, 'utf8');
  return { lines: normalise(raw, port), raw, stderr: r.stderr };
}

const without = (lines: string[], prefixes: string[]) => lines.filter((l) => !prefixes.some((p) => l.startsWith(p)));
const line = (raw: string, prefix: string) => raw.split('\n').find((l) => l.startsWith(prefix));

const users = [
  { name: "the image's non-root USER", run: [] as string[] },
  { name: 'root (--user 0:0)', run: ['--user', '0:0'] },
];

describe.each(['fanotify', 'strace', 'both'] as const)('probe %s is invisible to the app', (backend) => {
  it.each(users)('as $name', async ({ run }) => {
    const plain = await plainView(run);
    const probed = await probedView(backend, run);
    const allowed = backend === 'fanotify' ? ALWAYS_DIFFERENT : [...ALWAYS_DIFFERENT, ...STRACE_FILTER];
    expect(without(probed.lines, allowed)).toEqual(without(plain.lines, allowed));
    // What the comparison rests on, checked outright: the capability bounding set has neither
    // probe capability (CAP_SYS_PTRACE is bit 19, CAP_SYS_ADMIN bit 21), and stdout is the app's.
    const bnd = BigInt('0x' + line(probed.raw, 'status: CapBnd:')!.split('\t')[1]);
    expect(bnd & ((1n << 19n) | (1n << 21n))).toBe(0n);
    if (run.length === 0) expect(line(probed.raw, 'stdio 1:')).toMatch(/uid=1234 /);
    if (backend !== 'fanotify') expect(line(probed.raw, 'status: TracerPid:')).not.toMatch(/\t0$/);
  });
});

describe.each(['strace', 'both'] as const)('probe %s and a setuid program', (backend) => {
  it('the app gets what the setuid exec gives under docker run: the run is repeated without the seccomp filter', async () => {
    const run = ['-e', 'VIEW_SETUID=1'];
    const plain = await plainView(run);
    expect(line(plain.raw, 'euid after a setuid exec:')).toBe('euid after a setuid exec: 0');
    const probed = await probedView(backend, run);
    expect(probed.stderr).toMatch(/id-setuid, which raise privileges at exec; probing again without strace's seccomp filter/);
    expect(without(probed.lines, ALWAYS_DIFFERENT)).toEqual(without(plain.lines, ALWAYS_DIFFERENT));
  });
});
