import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages, requireEngine } from '../helpers/engine.js';
import { fixtureTag, hasImage } from '../helpers/fixtures.js';
import { buildService, freePort, runSlim, whileServing, type SlimRun } from '../helpers/slim.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { Scope } from '../../src/runtime/scope.js';
import { checkerCheck, classSharingCheck, listModules, retraceCheck } from '../../src/rebuild/jvm/jvm-checks.js';
import { readClassLoadLog } from '../../src/rebuild/jvm/class-log.js';
import { packagesByModule } from '../../src/rebuild/jvm/module-set.js';
import type { JavaHome } from '../../src/rebuild/jvm/java-home.js';

const IMAGE = fixtureTag('jvm-dates');
const HOME = '/usr/lib/jvm/java-17-openjdk-amd64';
const home: JavaHome = { home: HOME, modules: `${HOME}/lib/modules`, modulesSize: 0, libjvm: `${HOME}/lib/server/libjvm.so`, launcher: `${HOME}/bin/java` };
const id = `${process.pid}-${Date.now().toString(36)}`;
const WHOLE = `slim-test/jvm-dates:whole-${id}`;
const REBUILT = `slim-test/jvm-dates:rebuilt-${id}`;
const STALE = `slim-test/jvm-dates:stale-cds-${id}`;
const NO_LOCALE_DATA = `slim-test/jvm-dates:no-localedata-${id}`;
const work = mkdtempSync(join(tmpdir(), 'slim-rebuild-jvm-'));

/** The app's own test: a German date (jdk.localedata), SHA-256 and the trust store. */
const smoke = (port: number) =>
  `curl -fsS http://127.0.0.1:${port}/date | grep -q 'Freitag, 1. März 2024' && curl -fsS "http://127.0.0.1:${port}/sha?s=abc" | grep -q ba7816bf && curl -fsS http://127.0.0.1:${port}/trust | grep -q '^trust [1-9]'`;

let whole: SlimRun;
let rebuilt: SlimRun;
beforeAll(async () => {
  requireEngine();
  [whole, rebuilt] = await Promise.all([buildService(IMAGE, WHOLE, smoke), buildService(IMAGE, REBUILT, smoke, ['--rebuild', 'jvm'])]);
}, 900_000);
afterAll(() => {
  removeImages([WHOLE, REBUILT, STALE, NO_LOCALE_DATA]);
  rmSync(work, { recursive: true, force: true });
});

describe('--rebuild jvm on a Debian OpenJDK 17 service', () => {
  it('is at most half the whole-file slim image, passes the app\'s test, and says what it removed and checked', () => {
    expect(whole.code, whole.stderr).toBe(0);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const r = rebuilt.report!;
    const step = r.rebuild![0]!;
    expect(step, rebuilt.stderr).toMatchObject({ target: 'jvm', applied: true });
    expect(r.output.size * 2).toBeLessThanOrEqual(whole.report!.output.size);
    expect(step.checks.map((c) => [c.name, c.passed])).toEqual([['class sharing (-Xshare:on)', true], ['trust store and locales', true], ['the checks', true], ['re-trace', true]]);
    // Loaded through services, which jdeps does not see: without it the dates come out in English.
    expect(step.detail.modules).toEqual(expect.arrayContaining(['java.base', 'jdk.httpserver', 'jdk.localedata']));
    expect(step.detail.modules).not.toContain('jdk.compiler');
    expect(step.detail.jdeps).toEqual(['java.base', 'jdk.httpserver']);
    expect(step.detail.jmods).toMatch(/^helper slim-jdk-helper:[0-9a-f]{16} \(openjdk-17-jdk-headless=17\.\S+, same build by sha256\)$/);
    const modules = step.files.find((f) => f.path === `${HOME}/lib/modules`)!;
    expect(modules.after).toBeLessThan(modules.before / 4);
    expect(step.files.map((f) => f.path)).toContain(`${HOME}/lib/server/classes.jsa`);
    expect(step.removedBytes).toBe(step.files.reduce((n, f) => n + f.before - f.after, 0));
    expect(r.timings.rebuild).toBeGreaterThan(0);
    expect(rebuilt.stderr).toMatch(/jlink of \d+ modules: /);
    for (const run of [whole, rebuilt]) expect(leftovers(run.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('the rebuilt image serves the German date, and its JVM starts with class sharing required', async () => {
    await whileServing(REBUILT, async (get) => {
      expect((await get('/date')).trim()).toBe('Freitag, 1. März 2024');
    });
    expect(docker(['run', '--rm', '--network', 'none', '--entrypoint', home.launcher, REBUILT, '-Xshare:on', '-Xlog:cds=info', '-version'], {})).toMatch(/Opened archive .*classes\.jsa/);
  });

  it('keeps the helper image for the next run, labelled, and does not rebuild it', () => {
    const tag = /^helper (\S+)/.exec(rebuilt.report!.rebuild![0]!.detail.jmods as string)![1]!;
    expect(hasImage(tag)).toBe(true);
    expect(docker(['image', 'inspect', '-f', '{{index .Config.Labels "io.slim.helper"}}', tag]).trim()).toBe('jdk');
  });
});

describe('each check of --rebuild jvm fails when its condition is broken on purpose (real images)', () => {
  const runtime = new DockerRuntime();
  const scope = new Scope({ id: `rebuild-check-${id}` });
  afterAll(async () => {
    await scope.dispose();
    expect(leftovers(scope.id)).toEqual({ containers: [], volumes: [] });
  });

  let checker: Buffer;
  let packages: Map<string, string>;
  let linked: string[];
  let noLocaleData: string[];
  beforeAll(() => {
    requireEngine();
    const helper = /^helper (\S+)/.exec(rebuilt.report!.rebuild![0]!.detail.jmods as string)![1]!;
    linked = rebuilt.report!.rebuild![0]!.detail.modules as string[];
    noLocaleData = linked.filter((m) => m !== 'jdk.localedata');
    // From the helper of the same build: the modules with and without jdk.localedata, a fresh
    // archive for the latter, and the checker compiled.
    const jlink = (mods: string, out: string) => `${HOME}/bin/jlink --add-modules ${mods} --output ${out} --strip-java-debug-attributes --no-header-files --no-man-pages --compress=2`;
    const script = [
      `${HOME}/bin/jimage list ${HOME}/lib/modules > /out/jimage.txt`,
      jlink(linked.join(','), '/tmp/all'),
      jlink(noLocaleData.join(','), '/tmp/noloc'),
      'mkdir -p /out/all /out/noloc /out/chk',
      `${HOME}/bin/javac --release 11 -d /out/chk /src/SlimJvmCheck.java`,
      'cp /tmp/all/lib/modules /out/all/modules',
      'cp /tmp/noloc/lib/modules /out/noloc/modules',
      `cp /tmp/noloc/lib/modules ${HOME}/lib/modules`,
      `${HOME}/bin/java -Xshare:dump -XX:SharedArchiveFile=/out/noloc/classes.jsa >/dev/null`,
      'chmod -R a+rwX /out',
    ].join(' && ');
    docker(['run', '--rm', '--network', 'none', '-v', `${work}:/out`, '-v', `${join(process.cwd(), 'probes/jvm')}:/src:ro`, '--entrypoint', 'sh', helper, '-c', script], { timeout: 300_000 });
    packages = packagesByModule(readFileSync(join(work, 'jimage.txt'), 'utf8'));
    checker = execFileSync('tar', ['-cf', '-', '-C', work, 'chk']);
    writeFileSync(join(work, 'all', 'Dockerfile'), `FROM ${WHOLE}\nCOPY modules ${HOME}/lib/modules\n`);
    writeFileSync(join(work, 'noloc', 'Dockerfile'), `FROM ${WHOLE}\nCOPY modules ${HOME}/lib/modules\nCOPY classes.jsa ${HOME}/lib/server/classes.jsa\n`);
    docker(['build', '-q', '-t', STALE, join(work, 'all')], { env: { DOCKER_BUILDKIT: '0' } });
    docker(['build', '-q', '-t', NO_LOCALE_DATA, join(work, 'noloc')], { env: { DOCKER_BUILDKIT: '0' } });
  }, 600_000);

  it('class sharing: new modules with the shipped archive left stale fail -Xshare:on (the default would run on without sharing)', async () => {
    const stale = await classSharingCheck({ runtime, scope }, STALE, home, [{ flags: [] }]);
    expect(stale.passed).toBe(false);
    expect(stale.detail).toMatch(/^java -Xshare:on -version exited 1: .*(not the one used while building the shared archive|shared archive)/);
    expect(await classSharingCheck({ runtime, scope }, NO_LOCALE_DATA, home, [{ flags: [] }])).toMatchObject({ passed: true });
  });

  it('trust store and locales: without jdk.localedata the German date differs from the whole-file image\'s', async () => {
    const r = await checkerCheck({ runtime, scope }, { whole: WHOLE, rebuilt: NO_LOCALE_DATA }, home, checker, ['de-DE']);
    expect(r.passed).toBe(false);
    expect(r.detail).toMatch(/^differs from the whole-file image: "locale de-DE Freitag, 1\. März 2024 \| März \| Deutsch \(Deutschland\)" became "locale de-DE 2024 Mar 1, Fri/);
    const same = await checkerCheck({ runtime, scope }, { whole: WHOLE, rebuilt: REBUILT }, home, checker, ['de-DE']);
    expect(same).toMatchObject({ passed: true });
    expect(same.detail).toMatch(/^the same as the whole-file image: [1-9]\d* trusted certificates, locales de-DE$/);
  });

  it('re-trace: the image without jdk.localedata lacks a module the original loaded classes from', async () => {
    const log = docker(['run', '--rm', '--network', 'none', '-v', `${join(work, 'chk')}:/chk:ro`, '--entrypoint', home.launcher, WHOLE, '-Xlog:class+load', '-cp', '/chk', 'SlimJvmCheck', 'de-DE']);
    const original = readClassLoadLog(log);
    expect([...original.modules]).toContain('jdk.localedata');
    const present = await listModules({ runtime, scope }, NO_LOCALE_DATA, home);
    expect(present).toEqual(noLocaleData);
    expect(retraceCheck(original, original, packages, present, [])).toMatchObject({ passed: false, detail: "the rebuilt image lacks jdk.localedata, which the original's runs loaded classes from" });
    expect(retraceCheck(original, original, packages, await listModules({ runtime, scope }, REBUILT, home), [])).toMatchObject({ passed: true });
  });
});

describe('--rebuild jvm on an image that is a whole JDK, jmods included', () => {
  it('runs jlink in the image itself, with its own jmods', async () => {
    const helper = /^helper (\S+)/.exec(rebuilt.report!.rebuild![0]!.detail.jmods as string)![1]!;
    const dir = mkdtempSync(join(work, 'jdk-app-'));
    const source = `slim-test/jdk-app:${id}`;
    const tag = `slim-test/jdk-app:rebuilt-${id}`;
    const c = docker(['create', IMAGE]).trim();
    try {
      docker(['cp', `${c}:/app/app.jar`, join(dir, 'app.jar')]);
    } finally {
      docker(['rm', c]);
    }
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${helper}\nRUN useradd --uid 1000 --create-home app\nCOPY app.jar /app/app.jar\nUSER app\nCMD ["java", "-jar", "/app/app.jar"]\n`);
    docker(['build', '-q', '-t', source, dir], { env: { DOCKER_BUILDKIT: '0' } });
    try {
      const r = await buildService(source, tag, smoke, ['--rebuild', 'jvm']);
      expect(r.code, r.stderr).toBe(0);
      const step = r.report!.rebuild![0]!;
      expect(step, r.stderr).toMatchObject({ applied: true, detail: expect.objectContaining({ jmods: `the image's own ${HOME}/jmods` }) });
      expect(step.detail.modules).toContain('jdk.localedata');
      expect(r.stderr).not.toMatch(/building the helper image/);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    } finally {
      removeImages([tag, source]);
    }
  }, 600_000);
});

describe('Ctrl-C while --rebuild jvm runs its helper', () => {
  it('exit 130; the helper container, its volume, the provisional images and temp dirs are gone', async () => {
    const port = freePort();
    const tmp = mkdtempSync(join(work, 'tmp-int-'));
    let sent = false;
    const tag = `slim-test/jvm-dates:interrupted-${id}`;
    const r = await runSlim(['build', IMAGE, '-t', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', smoke(port), '--no-repair', '--rebuild', 'jvm'], {
      env: { TMPDIR: tmp },
      onStderr: (text, kill) => {
        if (sent || !/jlink of \d+ modules/.test(text)) return;
        sent = true;
        kill('SIGINT');
      },
    });
    expect(sent, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('slim: cleanup done: everything slim created was removed');
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    expect(docker(['images', '-q', `slim-run/${r.runId}`]).trim()).toBe('');
    expect(hasImage(tag)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('--rebuild jvm where there is nothing to rebuild', () => {
  it('keeps the image as it is, exit 0, and says why in the report', async () => {
    const tag = `slim-test/python-http:norebuild-${id}`;
    const r = await buildService(fixtureTag('python-http'), tag, (port) => `curl -fsS http://127.0.0.1:${port}/health`, ['--rebuild', 'jvm']);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.report!.rebuild).toEqual([expect.objectContaining({ target: 'jvm', applied: false, reason: 'the slim image holds no Java runtime image (a lib/modules next to lib/server/libjvm.so and bin/java)', removedBytes: 0 })]);
      expect(r.stderr).toMatch(/--rebuild jvm: keeping the original files: the slim image holds no Java runtime image/);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    } finally {
      removeImages([tag]);
    }
  });
});
