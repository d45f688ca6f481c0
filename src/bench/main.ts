/**
 * `npm run bench`: slim's speed and size figures, each as a ratio against a baseline measured in
 * the same run on the same engine (never an absolute threshold):
 *   1. probe overhead: a job that imports ~200 stdlib modules, and a loop of HTTP requests,
 *      untraced vs each probe backend (median of --runs);
 *   2. what each backend sees: distinct paths, and kept files only one backend saw;
 *   3. read + pack vs `docker save` of the same image, with peak memory, on the largest fixture
 *      and on a synthetic image of --large-gb GB made here;
 *   4. pushing a slim-made image to a local docker-registry vs `skopeo copy` of the same image;
 *   5. a light probe with the full test as --verify-* checks (and repair) vs a build probed with
 *      the full test, per service fixture: wall time and repair rounds;
 *   6. the wall time of `slim build` per fixture vs one plain run of the original through the same
 *      check, with the phases;
 *   7. the fixtures as a fleet: bytes a node pulls (and a registry stores) for the originals,
 *      single-layer slim images and `slim fleet build`, and each image's size in the last two.
 *   8. --rebuild: the slim image's size with and without each target, and the extra build time.
 * `--sections 3,6` runs only those (section 2 needs 1).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import tar from 'tar-stream';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { Scope } from '../runtime/scope.js';
import { createLogger } from '../log.js';
import { hashDir } from '../util/dir-hash.js';
import { openImage } from '../pipeline/read-step.js';
import { labelsFor, plainRunSpec, type RunSettings } from '../runtime/run-settings.js';
import { exercise, type Check } from '../verify/exercise.js';
import { runProbe, type ProbeBackend } from '../probe/run-probe.js';
import { identityOf } from '../pipeline/identity.js';
import { computeClosure } from '../closure/closure.js';
import { Selection } from '../closure/selection.js';
import type { AccessRecord } from '../trace/record.js';
import { pushVsSkopeo } from './push.js';
import { packEveryNth } from './pack-sample.js';
import { lightVsFull, type LightCase } from './light-probe.js';
import { buildWall, type WallCase } from './build-wall.js';
import { fleetBench } from './fleet.js';
import { rebuildBench } from './rebuild.js';

const log = createLogger({ level: 'warn' });
const say = (s: string) => process.stdout.write(s + '\n');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 5);
const LARGE_GB = arg('large-gb', 1);
const SECTIONS = (() => {
  const i = process.argv.indexOf('--sections');
  return i > 0 ? new Set((process.argv[i + 1] ?? '').split(',')) : undefined;
})();
const wanted = (n: string) => !SECTIONS || SECTIONS.has(n);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

async function fixture(runtime: Runtime, name: string, signal: AbortSignal): Promise<string> {
  const tag = `slim-fixture/${name}:${hashDir(join(fixtures, name)).slice(0, 12)}`;
  if (!(await runtime.inspectImage(tag))) await runtime.buildImage(join(fixtures, name), tag, {}, signal);
  return tag;
}

const baseSettings = (env: string[] = []): RunSettings => ({ env, volumes: [], addHosts: [], publish: [], readOnly: false, tmpfs: [], stopTimeout: 5, network: 'host' });

async function openWithIdentity(runtime: Runtime, image: string, scope: Scope) {
  const opened = await openImage(image, { runtime, log, scope });
  return { opened, identity: await identityOf(opened, baseSettings()) };
}

/** One timed run: untraced, or under a backend. Returns seconds as the check measured them, plus records. */
async function timedRun(runtime: Runtime, image: string, backend: ProbeBackend | 'none', check: Check, settings: RunSettings, timing: () => Promise<number | undefined>): Promise<{ seconds: number; records: AccessRecord[] }> {
  const scope = new Scope();
  try {
    if (backend === 'none') {
      const c = await runtime.run(plainRunSpec(image, settings, labelsFor(scope.id, 'bench')));
      scope.defer('bench container', () => c.remove());
      const r = await exercise(c, check, { image, stopTimeout: settings.stopTimeout, signal: scope.signal });
      if (!r.passed) throw new Error(`untraced run failed: ${r.summary}`);
      return { seconds: (await timing()) ?? r.seconds, records: [] };
    }
    const { opened, identity } = await openWithIdentity(runtime, image, scope);
    const p = await runProbe({ runtime, scope, log, image, config: opened.img.config.config ?? {}, settings, identity, backend, check });
    if (!p.run.passed) throw new Error(`${backend} run failed: ${p.run.summary}`);
    return { seconds: (await timing()) ?? p.run.seconds, records: p.records };
  } finally {
    await scope.dispose();
  }
}

async function main(): Promise<void> {
  const runtime = new DockerRuntime();
  const setup = new Scope();
  await runtime.ping();
  const work = await mkdtemp(join(tmpdir(), 'slim-bench-'));
  try {
    const imports = await fixture(runtime, 'python-imports', setup.signal);
    const http = await fixture(runtime, 'python-http', setup.signal);
    const backends: (ProbeBackend | 'none')[] = ['none', 'fanotify', 'strace', 'both'];

    say(`# slim bench (${RUNS} runs each, median; ratios against the untraced run measured alongside)\n`);
    if (wanted('1')) {
      say('## 1. probe overhead: job importing ~200 stdlib modules (container start to exit)');
      const jobTimes = new Map<string, number[]>();
      const lastRecords = new Map<string, AccessRecord[]>();
      for (let i = 0; i < RUNS; i++) {
        for (const b of backends) {
          const r = await timedRun(runtime, imports, b, { kind: 'job', compareOutputs: [] }, baseSettings(), async () => undefined);
          (jobTimes.get(b) ?? jobTimes.set(b, []).get(b)!).push(r.seconds);
          if (b !== 'none') lastRecords.set(b, r.records);
        }
      }
      const base = median(jobTimes.get('none')!);
      for (const b of backends) say(`  ${b.padEnd(9)} ${median(jobTimes.get(b)!).toFixed(3)} s   ratio ${(median(jobTimes.get(b)!) / base).toFixed(2)}x`);

      say('\n## 1b. probe overhead: 300 HTTP requests against python-http (the request loop only)');
      const loopTimes = new Map<string, number[]>();
      for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
        for (const b of backends) {
          const port = 18900 + Math.floor(Math.random() * 90);
          const out = join(work, `loop-${b}-${i}`);
          const smoke = `curl -fsS http://127.0.0.1:${port}/health >/dev/null && s=$(date +%s%N) && for i in $(seq 300); do curl -fsS http://127.0.0.1:${port}/ >/dev/null || exit 1; done && echo $(( ($(date +%s%N) - s) / 1000 )) > ${out}`;
          const r = await timedRun(runtime, http, b, { kind: 'service', checks: [{ kind: 'smoke', name: 'request loop', command: smoke }], timeoutSeconds: 60 }, baseSettings([`PORT=${port}`]), async () => Number(await readFile(out, 'utf8')) / 1e6);
          (loopTimes.get(b) ?? loopTimes.set(b, []).get(b)!).push(r.seconds);
        }
      }
      const loopBase = median(loopTimes.get('none')!);
      for (const b of backends) say(`  ${b.padEnd(9)} ${median(loopTimes.get(b)!).toFixed(3)} s   ratio ${(median(loopTimes.get(b)!) / loopBase).toFixed(2)}x`);

      say('\n## 2. what each backend sees (python-imports, trace of the "both" run)');
      const both = lastRecords.get('both')!;
      const scope = new Scope();
      try {
        const { opened } = await openWithIdentity(runtime, imports, scope);
        const index = opened.img.index;
        const distinct = (via: string) => new Set(both.filter((r) => r.via === via && r.ok).map((r) => r.path)).size;
        say(`  distinct paths reported: fanotify ${distinct('fanotify')}, strace ${distinct('strace')} (strace includes stat/access/failed lookups)`);
        const realOf = (r: AccessRecord) => [r.path, r.resolved].filter((p): p is string => !!p).map((p) => index.resolve(p).real);
        const seen = (via: string) => new Set(both.filter((r) => r.via === via).flatMap(realOf));
        const [fan, str] = [seen('fanotify'), seen('strace')];
        const closure = await computeClosure(index, both, { ignore: ['/.slim-probe', '/.slim-out'], include: [], commands: [['python3', '/app/imports.py']], config: opened.img.config.config ?? {} }, opened.spool);
        const files = closure.selection.paths().filter((p) => index.get(p)?.kind === 'file');
        const onlyF = files.filter((p) => fan.has(p) && !str.has(p));
        const onlyS = files.filter((p) => str.has(p) && !fan.has(p));
        const neither = files.filter((p) => !fan.has(p) && !str.has(p));
        say(`  files in the slim image: ${files.length}; seen only by fanotify: ${onlyF.length}${onlyF.length ? ` (e.g. ${onlyF.slice(0, 3).join(', ')})` : ''}; only by strace: ${onlyS.length}${onlyS.length ? ` (e.g. ${onlyS.slice(0, 3).join(', ')})` : ''}; added by the closure alone: ${neither.length}`);
        const fanOnlyClosure = await computeClosure(index, both.filter((r) => r.via === 'fanotify'), { ignore: ['/.slim-probe', '/.slim-out'], include: [], commands: [['python3', '/app/imports.py']], config: opened.img.config.config ?? {} }, opened.spool);
        const strOnlyClosure = await computeClosure(index, both.filter((r) => r.via === 'strace'), { ignore: ['/.slim-probe', '/.slim-out'], include: [], commands: [['python3', '/app/imports.py']], config: opened.img.config.config ?? {} }, opened.spool);
        const kept = (s: Selection) => new Set(s.paths().filter((p) => index.get(p)?.kind === 'file'));
        const [kf, ks] = [kept(fanOnlyClosure.selection), kept(strOnlyClosure.selection)];
        const missing = (k: Set<string>) => {
          const m = files.filter((p) => !k.has(p));
          return `missing ${m.length}${m.length ? `: ${m.slice(0, 3).join(', ')}` : ''}`;
        };
        say(`  after the closure: fanotify alone keeps ${kf.size} of them (${missing(kf)}), strace alone keeps ${ks.size} (${missing(ks)})`);
      } finally {
        await scope.dispose();
      }

    }
    if (wanted('3') || wanted('4')) {
      say('\n## 3. read + pack vs docker save (same image, same engine)');
      const biggest = await fixture(runtime, 'node-http', setup.signal);
      await readVsSave(runtime, biggest, 'node-http fixture', work);
      const big = LARGE_GB > 0 ? await makeLargeImage(runtime, LARGE_GB, work) : undefined;
      try {
        if (big) await readVsSave(runtime, big, `synthetic ${LARGE_GB} GB image`, work);
        say('\n## 4. push to a registry vs skopeo copy (same image, same registry)');
        await pushVsSkopeo(runtime, big ?? biggest, big ? `synthetic ${LARGE_GB} GB image, a quarter of its files` : 'node-http fixture, a quarter of its files', work, 3, log, say);
      } finally {
        if (big) await runtime.removeImage(big);
      }

    }
    if (wanted('5')) {
      say('\n## 5. light probe + full --verify-* checks (repair on) vs probed with the full test (wall time of slim build)');
      const net = ['-e', 'PORT={port}', '--http-port', '{port}', '--network', 'host'];
      const cases: LightCase[] = [
        { name: 'lazy-app', image: await fixture(runtime, 'lazy-app', setup.signal), run: net, light: ['GET /health'], full: ['GET /health', 'GET /page', 'GET /static/site.css', 'GET /quote', 'GET /stock'] },
        { name: 'python-http', image: http, run: net, light: ['GET /health'], full: ['GET /', 'GET /report'] },
        { name: 'nginx-static', image: await fixture(runtime, 'nginx-static', setup.signal), run: net, light: ['GET /health'], full: ['GET /', 'GET /style.css', 'GET /dot.png'] },
        { name: 'node-http', image: await fixture(runtime, 'node-http', setup.signal), run: net, light: ['GET /health'], full: ['GET /health', 'GET /'] },
        { name: 'writer-service', image: await fixture(runtime, 'writer-service', setup.signal), run: net, light: ['GET /health'], full: ['GET /health', 'GET /count'] },
      ];
      let port = 18800 + Math.floor(Math.random() * 50);
      await lightVsFull(cases, () => port++, (ref) => runtime.removeTag(ref), say);
    }
    if (wanted('6')) {
      say('\n## 6. build wall: slim build (default outputs) vs one plain run of the original through the same check');
      const net = ['-e', 'PORT={port}', '--network', 'host'];
      const curl = (path: string, want: string) => ['--smoke', `curl -fsS --max-time 5 http://127.0.0.1:{port}${path} | grep -q '${want}'`];
      const names = ['python-http', 'nginx-static', 'node-http', 'static-bin', 'writer-service', 'probe-view', 'lazy-app', 'shell-job', 'python-imports', 'busybox-scratch', 'alternatives-job', 'listing-job', 'tz-job'];
      const args: Record<string, string[]> = {
        'python-http': [...net, ...curl('/', 'python-http')],
        'nginx-static': [...net, ...curl('/', 'slim-nginx-ok')],
        'node-http': [...net, ...curl('/', 'hello from node-http')],
        'static-bin': [...net, ...curl('/', 'static-ok')],
        'writer-service': [...net, ...curl('/health', 'ok')],
        'probe-view': [...net, ...curl('/', 'view-ok')],
        'lazy-app': [...net, '--http-port', '{port}', '--http-probe', 'GET /health'],
        'shell-job': ['--smoke', 'sleep 1; docker logs "$SLIM_CONTAINER" | grep -q checksum'],
      };
      const wall: WallCase[] = [];
      for (const n of names) wall.push({ name: n, image: await fixture(runtime, n, setup.signal), args: args[n] ?? [] });
      let wallPort = 18850 + Math.floor(Math.random() * 40);
      await buildWall(wall, () => wallPort++, runtime, log, say);
    }
    if (wanted('7')) {
      say('\n## 7. the fixtures as a fleet (slim fleet build)');
      const port = 18900 + Math.floor(Math.random() * 40);
      await fleetBench([
        { name: 'python-http', image: http, lines: [`env: [PORT=${port}]`, `http-port: ${port}`, 'http-probe: [GET /health]'] },
        { name: 'python-imports', image: imports, lines: [] },
        { name: 'node-http', image: await fixture(runtime, 'node-http', setup.signal), lines: [`env: [PORT=${port + 1}]`, `http-port: ${port + 1}`, 'http-probe: [GET /health]'] },
        { name: 'shell-job', image: await fixture(runtime, 'shell-job', setup.signal), lines: [] },
        { name: 'alternatives-job', image: await fixture(runtime, 'alternatives-job', setup.signal), lines: [] },
        { name: 'tz-job', image: await fixture(runtime, 'tz-job', setup.signal), lines: [] },
      ], work, say);
    }
    if (wanted('8')) {
      say('\n## 8. --rebuild: the slim image with and without it, and the extra build time');
      const net = ['-e', 'PORT={port}', '--network', 'host', '--no-repair'];
      const jvmSmoke = `curl -fsS http://127.0.0.1:{port}/date | grep -q Freitag && curl -fsS http://127.0.0.1:{port}/trust | grep -q '^trust [1-9]'`;
      let rebuildPort = 18940 + Math.floor(Math.random() * 40);
      const icuSmoke = `curl -fsS http://127.0.0.1:{port}/date | grep -q Freitag && curl -fsS http://127.0.0.1:{port}/sort | grep -qx 'a,o,z,ä,ö'`;
      await rebuildBench(
        [
          { name: 'jvm-dates', image: await fixture(runtime, 'jvm-dates', setup.signal), target: 'jvm', args: [...net, '--smoke', jvmSmoke] },
          { name: 'node-intl', image: await fixture(runtime, 'node-intl', setup.signal), target: 'icu', args: [...net, '--smoke', icuSmoke] },
        ],
        () => rebuildPort++,
        runtime,
        say,
      );
    }
  } finally {
    await setup.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

async function readVsSave(runtime: Runtime, image: string, label: string, work: string): Promise<void> {
  const saves: number[] = [];
  const reads: number[] = [];
  let rss = 0;
  let files = 0;
  for (let i = 0; i < 3; i++) {
    let t = Date.now();
    const s = await runtime.saveImage(image, new AbortController().signal);
    await pipeline(s, createWriteStream('/dev/null'));
    saves.push((Date.now() - t) / 1000);
    const scope = new Scope();
    try {
      t = Date.now();
      // What a typical slim run keeps: every 20th file and its parents (about 5%).
      files = (await packEveryNth(image, await openImage(image, { runtime, log, scope }), 20, scope.signal)).imageFiles;
      reads.push((Date.now() - t) / 1000);
      rss = Math.max(rss, process.resourceUsage().maxRSS / 1024);
    } finally {
      await scope.dispose();
    }
  }
  const inspect = await runtime.inspectImage(image);
  say(`  ${label} (${((inspect?.size ?? 0) / 1e6).toFixed(0)} MB, ${files} files): docker save ${median(saves).toFixed(2)} s, slim read+pack ${median(reads).toFixed(2)} s, ratio ${(median(reads) / median(saves)).toFixed(2)}x; peak RSS of this process so far ${rss.toFixed(0)} MB`);
  void work;
}

/** A synthetic image of `gb` GB of incompressible files in 3 layers, made with `docker import`. */
async function makeLargeImage(runtime: Runtime, gb: number, work: string): Promise<string> {
  const tag = `slim-bench/large:${gb}gb`;
  const pack = tar.pack();
  const chunk = randomBytes(1 << 20);
  const files = Math.round(gb * 1024);
  (async () => {
    for (let i = 0; i < files; i++) {
      const body = Buffer.from(chunk);
      body.writeUInt32LE(i, 0);
      await new Promise<void>((res, rej) => pack.entry({ name: `data/d${i % 32}/f${i}.bin`, size: body.length, mode: 0o644 }, body, (e) => (e ? rej(e) : res())));
    }
    pack.finalize();
  })().catch((e) => pack.destroy(e as Error));
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('docker', ['import', '-', tag], (err) => (err ? reject(err) : resolve()));
    (pack as unknown as Readable).pipe(child.stdin!);
  });
  void work;
  return tag;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
