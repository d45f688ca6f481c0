import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, uniqueSource } from '../helpers/fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort, runSlim, type SlimRun } from '../helpers/slim.js';

/**
 * Nothing hangs and nothing leaks: every wait is bounded, every step can be interrupted, and an
 * interrupted run removes everything it made, even when Ctrl-C comes again during cleanup.
 */

const errorLines = (r: SlimRun) => r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'));
const listen = (server: Server | HttpServer, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

/** A TCP listener that accepts connections and never answers: an engine that hangs. */
async function silentListener(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.on('data', () => {}));
  const port = freePort();
  await listen(server, port);
  return { port, server };
}

/** The run ended by the interrupt: exit 130 (not killed by the signal), one error line, the cleanup line last. */
function expectInterrupted(r: SlimRun): void {
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(130);
  expect(errorLines(r), r.stderr).toEqual(['slim: error: interrupted by SIGINT']);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  const lines = r.stderr.trim().split('\n');
  // Said once cleanup has run: after "cleaning up" and after any notice of a second Ctrl-C.
  expect(lines.at(-1), r.stderr).toBe('slim: cleanup done: everything slim created was removed');
  expect(lines.indexOf('slim: cleaning up…'), r.stderr).toBeGreaterThan(lines.indexOf('slim: error: interrupted by SIGINT'));
}

interface Isolated {
  /** slim's TMPDIR: whatever slim- dir is in it afterwards was left by slim. */
  tmp: string;
  /** Where the file output goes: nothing may be there after an interrupted run. */
  outDir: string;
  source: string;
  tag: string;
}

let runs = 0;
function isolated(): Isolated {
  const n = `${process.pid}-${++runs}`;
  const tmp = mkdtempSync(join(tmpdir(), 'interrupts-test-'));
  const outDir = mkdtempSync(join(tmpdir(), 'interrupts-out-'));
  return { tmp, outDir, source: uniqueSource('busybox-scratch', `int-${n}`), tag: `slim-test/busybox-scratch:int-${n}` };
}

/** Nothing of the run is left: containers, volumes, images, temp dirs, partial outputs. */
function expectNothingLeft(r: SlimRun, iso: Isolated): void {
  expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  expect(docker(['images', '-aq', '--filter', `label=io.slim.source.name=${iso.source}`]).trim(), 'a slim image of this run is left').toBe('');
  expect(() => docker(['image', 'inspect', iso.tag]), `${iso.tag} must not exist`).toThrow();
  expect(readdirSync(iso.tmp).filter((n) => n.startsWith('slim-')), 'temp dirs left').toEqual([]);
  expect(readdirSync(iso.outDir), 'partial outputs left').toEqual([]);
}

function release(iso: Isolated): void {
  removeImages([iso.source, iso.tag]);
  rmSync(iso.tmp, { recursive: true, force: true });
  rmSync(iso.outDir, { recursive: true, force: true });
}

describe('an engine that accepts connections and never answers', () => {
  let hung: { port: number; server: Server };
  beforeAll(async () => {
    hung = await silentListener();
  });
  afterAll(() => void hung.server.close());

  it('fails within a bounded time with one line naming DOCKER_HOST (not after 10 minutes)', async () => {
    const t = Date.now();
    const r = await runSlim(['build', 'anything:1', '--smoke', 'true'], { env: { DOCKER_HOST: `tcp://127.0.0.1:${hung.port}` } });
    expect(Date.now() - t).toBeLessThan(60_000);
    expect(r.code, r.stderr).toBe(1);
    expect(errorLines(r)).toEqual([`slim: error: cannot reach the container engine at tcp://127.0.0.1:${hung.port} (DOCKER_HOST): no answer within 15 s`]);
    expect(r.stderr).toMatch(/slim: hint: .*check DOCKER_HOST/);
  });

  it('Ctrl-C during that wait ends build and inspect at once, exit 130', async () => {
    for (const args of [['build', 'anything:1', '--smoke', 'true'], ['inspect', 'anything:1']]) {
      const t = Date.now();
      const r = await runSlim(args, { env: { DOCKER_HOST: `tcp://127.0.0.1:${hung.port}` }, onSpawn: (kill) => setTimeout(() => kill('SIGINT'), 2000) });
      expect(Date.now() - t, args[0]).toBeLessThan(12_000);
      expectInterrupted(r);
    }
  });
});

describe('outputs that cannot be written are usage errors before the engine is touched', () => {
  it.each(['oci:/proc/x', 'oci-archive:/proc/x/y.tar'])('--output %s: exit 2 at once', async (output) => {
    const t = Date.now();
    // An engine that never answers: touching it would hang for the ping's whole bound.
    const hung = await silentListener();
    try {
      const r = await runSlim(['build', fixtureTag('busybox-scratch'), '--output', output], { env: { DOCKER_HOST: `tcp://127.0.0.1:${hung.port}` } });
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r)).toEqual([`slim: error: --output ${output}: /proc is a kernel filesystem, not a place for an image`]);
      expect(Date.now() - t).toBeLessThan(10_000);
    } finally {
      hung.server.close();
    }
  });
});

describe('Ctrl-C at each step of a build removes everything it made', () => {
  // A job that runs for a while: time for the signal to land while the probe and verification run it.
  const job = ['--cmd', '["busybox sleep 2; echo busybox-job-ok"]'];
  const moments: [string, RegExp][] = [
    ['before the image stream opens', /» reading /],
    ['during the probe', /probe container [0-9a-f]{12} started/],
    ['during pack', /» packing \d+ entries/],
    ['during verify', /» verifying: /],
  ];
  for (const [moment, line] of moments) {
    for (const presses of [1, 2]) {
      it(`${presses === 1 ? 'one Ctrl-C' : 'two Ctrl-C 30 ms apart'} ${moment}: exit 130, nothing left`, async () => {
        const iso = isolated();
        try {
          let sent = false;
          const r = await runSlim(['build', iso.source, '--tag', iso.tag, ...job, '--output', 'docker', '--output', `docker-archive:${join(iso.outDir, 'slim.tar')}`], {
            env: { TMPDIR: iso.tmp },
            onStderr: (all, kill) => {
              if (sent || !line.test(all)) return;
              sent = true;
              kill('SIGINT');
              if (presses === 2) setTimeout(() => kill('SIGINT'), 30);
            },
          });
          expect(sent, r.stderr).toBe(true);
          expectInterrupted(r);
          expectNothingLeft(r, iso);
        } finally {
          release(iso);
        }
      });
    }
  }

  it('a second Ctrl-C during cleanup is reported with what a third would leave, and cleanup still finishes', async () => {
    const iso = isolated();
    try {
      let sent = false;
      const r = await runSlim(['build', iso.source, '--tag', iso.tag, ...job], {
        env: { TMPDIR: iso.tmp },
        onStderr: (all, kill) => {
          if (!sent && /probe container [0-9a-f]{12} started/.test(all)) {
            sent = true;
            kill('SIGINT');
          }
          // The second one lands while cleanup runs, for sure.
          if (/slim: cleaning up…/.test(all) && !/cleanup in progress/.test(all) && !/cleanup done/.test(all)) kill('SIGINT');
        },
      });
      expectInterrupted(r);
      expect(r.stderr).toMatch(/slim: cleanup in progress; Ctrl-C again to force, which leaves: .*(probe container [0-9a-f]{12}|volume slim-|temp dir )/);
      expectNothingLeft(r, iso);
    } finally {
      release(iso);
    }
  });

  it('slim inspect interrupted before the image stream opens exits 130 and prints no report', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'interrupts-test-'));
    try {
      let sent = false;
      // A larger image: reading it takes long enough that the signal lands before it is read whole.
      const r = await runSlim(['inspect', fixtureTag('python-http')], {
        env: { TMPDIR: tmp },
        onStderr: (all, kill) => {
          if (!sent && /» reading /.test(all)) {
            sent = true;
            kill('SIGINT');
          }
        },
      });
      expect(sent).toBe(true);
      expectInterrupted(r);
      expect(r.stdout).toBe('');
      expect(readdirSync(tmp).filter((n) => n.startsWith('slim-'))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/** A proxy in front of the registry that refuses the PUT of a manifest by tag (not by digest, not the sha256- referrers tag). */
async function refusingTagPut(target: TestRegistry, status: number): Promise<{ host: string; refused: number; stop(): Promise<void> }> {
  const state = { refused: 0 };
  const server = createHttpServer((req, res) => {
    const m = /^\/v2\/.+\/manifests\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method === 'PUT' && m && !m[1]!.startsWith('sha256')) {
      state.refused++;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: status === 403 ? 'DENIED' : 'UNKNOWN', message: 'tag writes refused by the test proxy' }] }));
      return;
    }
    const up = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = freePort();
  await listen(server, port);
  return {
    host: `127.0.0.1:${port}`,
    get refused() {
      return state.refused;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function tagsOf(reg: TestRegistry, repo: string): Promise<string[]> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
}

describe('a push whose tag cannot be set publishes no evidence', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it.each([403, 500])('the tag PUT answers %i: exit 1, and no referrers tag sha256-<hex> is left', async (status) => {
    const proxy = await refusingTagPut(reg, status);
    const iso = isolated();
    const repo = `refused/bb-${status}`;
    try {
      const r = await runSlim(['build', iso.source, '--output', `registry:${proxy.host}/${repo}:v1`], { env: { TMPDIR: iso.tmp } });
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r), r.stderr).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(new RegExp(`putting manifest v1 at ${proxy.host}: HTTP ${status}`));
      expect(proxy.refused).toBeGreaterThan(0);
      // The artifacts were attached before the tag, then taken back.
      expect(r.stderr).toMatch(/attached report\.json/);
      expect(r.stderr).toMatch(/the image was not tagged, so its attachments were removed again/);
      expect(await tagsOf(reg, repo)).toEqual([]);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
      expect(readdirSync(iso.tmp).filter((n) => n.startsWith('slim-'))).toEqual([]);
    } finally {
      await proxy.stop();
      release(iso);
    }
  });
});

describe('a registry output is checked before the build', () => {
  it('an unreachable registry fails in seconds, before reading or probing, with one line', async () => {
    const port = freePort(); // nothing listens there
    const t = Date.now();
    const r = await runSlim(['build', fixtureTag('busybox-scratch'), '--output', `registry:127.0.0.1:${port}/a/b:c`]);
    expect(r.code, r.stderr).toBe(1);
    expect(Date.now() - t).toBeLessThan(60_000);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(new RegExp(`^slim: error: --output registry:127\\.0\\.0\\.1:${port}/a/b:c: contacting the registry at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(r.stderr).not.toMatch(/» reading|probe container/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a registry that refuses the credentials fails before the build', async () => {
    const reg = await startRegistry({ kind: 'basic', user: 'ci', password: 'right' });
    try {
      const r = await runSlim(['build', fixtureTag('busybox-scratch'), '--output', `registry:${reg.host}/a/b:c`], { env: { SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 'wrong', DOCKER_CONFIG: '/nonexistent' } });
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(new RegExp(`--output registry:${reg.host}/a/b:c: checking the credentials at ${reg.host}: HTTP 401`));
      expect(r.stderr).not.toMatch(/» reading|probe container/);
    } finally {
      await reg.stop();
    }
  });
});

describe('long values in errors', () => {
  it('an image name of 5 kB gives a short error line; --verbose gives it whole', async () => {
    const name = `slim-test/${'x'.repeat(5000)}:1`;
    const r = await runSlim(['inspect', name]);
    expect(r.code, r.stderr.slice(0, 500)).not.toBe(0);
    for (const l of r.stderr.split('\n')) expect(l.length).toBeLessThan(700);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/slim-test\/x+…\(\d+ more\)…x+:1/);
    const v = await runSlim(['--verbose', 'inspect', name]);
    expect(v.stderr).toContain(name);
  });
});
