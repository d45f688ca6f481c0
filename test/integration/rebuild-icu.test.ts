import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages, requireEngine } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { buildService, whileServing, type SlimRun } from '../helpers/slim.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { Scope } from '../../src/runtime/scope.js';
import { silentLogger } from '../../src/log.js';
import { BASE_ITEMS, localesOf, type IcuData } from '../../src/rebuild/icu/icu-data.js';
import { openIcuWorkbench, type IcuWorkbench } from '../../src/rebuild/icu/icu-run.js';
import { icuCheckerCheck } from '../../src/rebuild/icu/icu-checks.js';
import { helperImage } from '../../src/rebuild/helper-image.js';

const IMAGE = fixtureTag('node-intl');
const LIB = '/usr/lib/x86_64-linux-gnu/libicudata.so.72.1';
const id = `${process.pid}-${Date.now().toString(36)}`;
const WHOLE = `slim-test/node-intl:whole-${id}`;
const REBUILT = `slim-test/node-intl:rebuilt-${id}`;
const NO_SV = `slim-test/node-intl:no-sv-${id}`;
const work = mkdtempSync(join(tmpdir(), 'slim-rebuild-icu-'));

/** The app's own test: a German date, Swedish collation (ä and ö after z), a French currency. */
const smoke = (port: number) =>
  `curl -fsS http://127.0.0.1:${port}/date | grep -qx 'Freitag, 1. März 2024' && curl -fsS http://127.0.0.1:${port}/sort | grep -qx 'a,o,z,ä,ö' && curl -fsS http://127.0.0.1:${port}/number | grep -q '234,50'`;

let whole: SlimRun;
let rebuilt: SlimRun;
beforeAll(async () => {
  requireEngine();
  [whole, rebuilt] = await Promise.all([buildService(IMAGE, WHOLE, smoke), buildService(IMAGE, REBUILT, smoke, ['--rebuild', 'icu'])]);
}, 900_000);
afterAll(() => {
  removeImages([WHOLE, REBUILT, NO_SV]);
  rmSync(work, { recursive: true, force: true });
});

describe('--rebuild icu on Debian\'s Node.js with the system ICU', () => {
  it('drops the data the app did not use, passes the app\'s test, and says what it checked', () => {
    expect(whole.code, whole.stderr).toBe(0);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const step = rebuilt.report!.rebuild![0]!;
    expect(step, rebuilt.stderr).toMatchObject({ target: 'icu', applied: true });
    const lib = step.files[0]!;
    expect(lib.path).toBe(LIB);
    expect(lib.after).toBeLessThan(lib.before / 2);
    // The image shrinks by what the library lost, nothing else changes.
    expect(whole.report!.output.size - rebuilt.report!.output.size).toBe(lib.before - lib.after);
    expect(step.checks.map((c) => [c.name, c.passed])).toEqual([['locales and collations', true], ['the checks', true], ['re-trace', true]]);
    expect(step.detail.collations).toContain('sv');
    expect(step.detail.locales).toEqual(expect.arrayContaining(['de', 'fr']));
    expect(Number(step.detail.items)).toBeLessThan(Number(step.detail.itemsInData));
    expect(step.detail.base).toEqual([...BASE_ITEMS]);
    for (const run of [whole, rebuilt]) expect(leftovers(run.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('the rebuilt image answers as the original does: German date, Swedish order, French currency', async () => {
    await whileServing(REBUILT, async (get) => {
      expect(await get('/date')).toBe('Freitag, 1. März 2024');
      expect(await get('/sort')).toBe('a,o,z,ä,ö');
      expect(await get('/number')).toBe('1\u202f234,50\u00a0€');
    });
  });
});

describe('the ICU checker fails when an item is dropped on purpose (real images)', () => {
  const runtime = new DockerRuntime();
  const scope = new Scope({ id: `rebuild-icu-check-${id}` });
  let bench: IcuWorkbench;
  let kept: string[];
  beforeAll(async () => {
    requireEngine();
    const step = rebuilt.report!.rebuild![0]!;
    const tools = /\(([^,]+), same build/.exec(step.detail.helper as string)![1]!.split(' ');
    const lib: IcuData = { path: LIB, size: step.files[0]!.before, major: '72' };
    const sha = docker(['run', '--rm', '--entrypoint', 'sha256sum', IMAGE, LIB]).split(' ')[0]!;
    bench = await openIcuWorkbench(lib, { kind: 'helper', ...helperImage('debian:bookworm', tools, 'icu') }, sha, work, { runtime, scope, log: silentLogger });
    // The items the app used, as the build found them, without Swedish collation.
    kept = [...BASE_ITEMS, ...(step.detail.collations as string[]).map((l) => `coll/${l}.res`), ...(step.detail.locales as string[]).map((l) => `${l}.res`)].filter((i) => i !== 'coll/sv.res' && bench.all.has(i));
    const dir = join(work, 'no-sv');
    execFileSync('mkdir', ['-p', dir]);
    await bench.rebuild(kept, join(dir, 'libicudata.so.72.1'));
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${WHOLE}\nCOPY libicudata.so.72.1 ${LIB}\n`);
    docker(['build', '-q', '-t', NO_SV, dir], { env: { DOCKER_BUILDKIT: '0' } });
  }, 600_000);
  afterAll(async () => {
    await bench?.close();
    await scope.dispose();
    expect(leftovers(scope.id)).toEqual({ containers: [], volumes: [] });
  });

  it('without coll/sv.res, Swedish collation falls back to root: the checker says so', async () => {
    const r = await icuCheckerCheck({ runtime, scope }, { whole: WHOLE, rebuilt: NO_SV }, bench.mount, { collations: ['sv'], data: [] });
    expect(r.passed).toBe(false);
    expect(r.detail).toMatch(/^differs from the whole-file image: "collator sv U_ZERO_ERROR [\d.]+ sv" became "collator sv U_USING_DEFAULT_WARNING [\d.]+ root"$/);
    // The same images with the item: the same lines.
    expect(await icuCheckerCheck({ runtime, scope }, { whole: WHOLE, rebuilt: REBUILT }, bench.mount, localesOf([...kept, 'coll/sv.res']))).toMatchObject({ passed: true });
  });

  it('and the app itself sorts Swedish wrong, with no error: why the check exists', async () => {
    await whileServing(NO_SV, async (get) => {
      expect(await get('/sort')).toBe('a,ä,o,ö,z');
    });
  });
});
