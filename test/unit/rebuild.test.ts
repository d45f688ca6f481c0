import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flatten, type TarEntry } from '../../src/rootfs/flatten.js';
import { readClassLoadLog } from '../../src/rebuild/jvm/class-log.js';
import { appJars, javaFeature, parseSha256sum } from '../../src/rebuild/jvm/jlink-run.js';
import { parseModuleList, retraceCheck } from '../../src/rebuild/jvm/jvm-checks.js';
import { firstDifference } from '../../src/rebuild/rebuild-check.js';
import { withReplacedFiles } from '../../src/rebuild/replaced-files.js';
import { classLogOption } from '../../src/probe/run-probe.js';
import { toBuildOptions, type BuildFlags } from '../../src/cli/options.js';
import { renderText, type BuildReport, type RebuildReport } from '../../src/report/report.js';
import type { ContentReader } from '../../src/sources/content-spool.js';
import type { FileEntry } from '../../src/rootfs/entry.js';

const work = mkdtempSync(join(tmpdir(), 'slim-jvm-rebuild-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
let offset = 0;
const file = (name: string, size = 4): TarEntry => ({ ...meta, name, type: 'file', size, at: { layer: 0, offset: (offset += size), size } });
const dir = (name: string): TarEntry => ({ ...meta, name, type: 'directory', mode: 0o755, size: 0 });

describe('the class-load log option for traced runs', () => {
  it('adds the log to JAVA_TOOL_OPTIONS, after what the image or the user set (the last value wins, as in docker run)', () => {
    const log = '-Xlog:class+load=info:file=/.slim-out/jvm/classes-%p.log::filecount=0';
    expect(classLogOption(['PATH=/bin'])).toBe(`JAVA_TOOL_OPTIONS=${log}`);
    expect(classLogOption(['JAVA_TOOL_OPTIONS=-Xmx64m', 'JAVA_TOOL_OPTIONS=-Xss1m -Dx=1'])).toBe(`JAVA_TOOL_OPTIONS=-Xss1m -Dx=1 ${log}`);
  });
});

describe('what the helper reads and runs', () => {
  it('takes the app jars the JVM loaded classes from, through symlinks, and leaves class directories and missing jars out', () => {
    const index = flatten([[dir('/app'), file('/app/app.jar'), dir('/app/lib'), file('/app/lib/dep-1.0.jar'), { ...meta, name: '/app/current.jar', type: 'symlink', size: 0, linkname: 'app.jar' } as TarEntry]]);
    const ev = readClassLoadLog([
      '[0.1s][info][class,load] App source: file:/app/current.jar',
      '[0.1s][info][class,load] dep.X source: jar:file:/app/lib/dep-1.0.jar!/',
      '[0.1s][info][class,load] Dir source: file:/app/classes/',
      '[0.1s][info][class,load] Gone source: file:/tmp/gone.jar',
    ].join('\n'));
    expect(appJars(ev, index)).toEqual(['/app/app.jar', '/app/lib/dep-1.0.jar']);
  });

  it('reads sha256sum output and the Java feature release', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(parseSha256sum(`${a}  /usr/lib/jvm/j/lib/modules\n${b} */usr/lib/jvm/j/lib/server/libjvm.so\n`)).toEqual(new Map([['/usr/lib/jvm/j/lib/modules', a], ['/usr/lib/jvm/j/lib/server/libjvm.so', b]]));
    expect(javaFeature('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment')).toBe(17);
    expect(javaFeature('openjdk version "1.8.0_392"')).toBe(8);
    expect(javaFeature('openjdk version "21" 2023-09-19')).toBe(21);
    expect(() => javaFeature('no such thing')).toThrow(/cannot tell the Java version/);
  });
});

describe('the rebuild checks that need no engine', () => {
  const packages = new Map([['java.lang', 'java.base'], ['com.sun.net.httpserver', 'jdk.httpserver'], ['sun.text.resources.cldr.ext', 'jdk.localedata']]);
  const original = readClassLoadLog([
    '[0.1s][info][class,load] java.lang.Object source: shared objects file',
    '[0.1s][info][class,load] com.sun.net.httpserver.HttpServer source: shared objects file',
    '[0.2s][info][class,load] sun.text.resources.cldr.ext.FormatData_de source: jrt:/jdk.localedata',
  ].join('\n'));

  const all = ['java.base', 'jdk.httpserver', 'jdk.localedata'];
  it('re-trace: passes when the modules the original loaded from are in the rebuilt image and no file it opens is missing', () => {
    const same = readClassLoadLog([
      '[0.1s][info][class,load] java.lang.Object source: jrt:/java.base',
      '[0.1s][info][class,load] com.sun.net.httpserver.HttpServer source: shared objects file',
      '[0.2s][info][class,load] sun.text.resources.cldr.ext.FormatData_de source: shared objects file',
    ].join('\n'));
    expect(retraceCheck(original, same, packages, all, [])).toMatchObject({ passed: true });
    // A service lookup that stopped earlier this time: said, not failed, as the module is there.
    const fewer = readClassLoadLog('[0.1s][info][class,load] java.lang.Object source: shared objects file\n[0.1s][info][class,load] com.sun.net.httpserver.HttpServer source: jrt:/jdk.httpserver');
    const r = retraceCheck(original, fewer, packages, all, []);
    expect(r.passed).toBe(true);
    expect(r.detail).toMatch(/\(jdk\.localedata not loaded this time\)/);
  });

  it('re-trace: fails naming the module the rebuilt image lacks (locale data left out: dates silently in English), or a file its runs open that the slim image lacks', () => {
    const noLocaleData = readClassLoadLog('[0.1s][info][class,load] java.lang.Object source: shared objects file\n[0.1s][info][class,load] com.sun.net.httpserver.HttpServer source: jrt:/jdk.httpserver');
    const r = retraceCheck(original, noLocaleData, packages, ['java.base', 'jdk.httpserver'], []);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe("the rebuilt image lacks jdk.localedata, which the original's runs loaded classes from");
    const opens = retraceCheck(original, original, packages, all, ['/usr/lib/jvm/j/lib/server/classes_nocoops.jsa']);
    expect(opens).toMatchObject({ passed: false, detail: "the rebuilt image's runs open /usr/lib/jvm/j/lib/server/classes_nocoops.jsa, which the slim image lacks" });
  });

  it('reads java --list-modules', () => {
    expect(parseModuleList('java.base@17.0.19\njdk.localedata@17.0.19\n\njdk.httpserver@17.0.19\n')).toEqual(['java.base', 'jdk.httpserver', 'jdk.localedata']);
  });

  it('the checker outputs compared line by line', () => {
    expect(firstDifference('trust 140\nlocale de Freitag\n', 'trust 140\nlocale de Freitag')).toBeUndefined();
    expect(firstDifference('trust 140\nlocale de Freitag, 1. März 2024', 'trust 140\nlocale de Friday, March 1, 2024')).toBe('"locale de Freitag, 1. März 2024" became "locale de Friday, March 1, 2024"');
    expect(firstDifference('trust 140', 'trust 0')).toBe('"trust 140" became "trust 0"');
    expect(firstDifference('trust 140\nsha256 ok', 'trust 140')).toBe('"sha256 ok" became "(nothing)"');
  });
});

describe('an image with files replaced', () => {
  it('reads the replaced file from the host and every other from the image; the original index is unchanged', async () => {
    const index = flatten([[dir('/j'), file('/j/modules', 10), file('/j/other', 3), { ...meta, name: '/j/hard', type: 'link', size: 0, linkname: '/j/modules' } as TarEntry]]);
    const hostFile = join(work, 'modules');
    writeFileSync(hostFile, 'rebuilt');
    const reads: string[] = [];
    const content: ContentReader = {
      async read(e) {
        reads.push(e.path);
        return Buffer.from(`image:${e.path}`);
      },
      stream() {
        throw new Error('not used');
      },
    };
    const r = withReplacedFiles(index, content, [{ path: '/j/modules', hostFile, size: 7 }]);
    const replaced = r.index.get('/j/modules') as FileEntry & { kind: 'file' };
    expect(replaced).toMatchObject({ size: 7, meta: { mode: 0o644, uid: 0, mtime: 1_700_000_000 } });
    expect((await r.content.read(replaced)).toString()).toBe('rebuilt');
    expect((await r.content.read(replaced, { start: 2, length: 3 })).toString()).toBe('bui');
    const chunks: Buffer[] = [];
    for await (const c of r.content.stream(replaced)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('rebuilt');
    // A hard link to the old bytes keeps them: it is another inode now.
    const hard = r.index.get('/j/hard') as FileEntry & { kind: 'file' };
    expect(hard.size).toBe(10);
    expect((await r.content.read(hard)).toString()).toBe('image:/j/hard');
    expect((await r.content.read(r.index.get('/j/other') as FileEntry & { kind: 'file' })).toString()).toBe('image:/j/other');
    expect((index.get('/j/modules') as FileEntry & { kind: 'file' }).size).toBe(10);
    expect(reads).toEqual(['/j/hard', '/j/other']);
    expect(() => withReplacedFiles(index, content, [{ path: '/j', hostFile, size: 7 }])).toThrow(/is a dir/);
  });
});

describe('--rebuild', () => {
  const flags = (f: Partial<BuildFlags>): BuildFlags => ({ smokeTimeout: '60', probe: 'auto', env: [], volume: [], addHost: [], publish: [], tmpfs: [], stopTimeout: '10', include: [], output: [], httpProbe: [], httpSpec: [], exec: [], compareOutput: [], verifyHttpProbe: [], verifyHttpSpec: [], verifyExec: [], repair: true, repairRounds: '3', ...f });
  it('takes jvm, comma-separated or repeated; nothing by default', () => {
    expect(toBuildOptions('x', flags({})).rebuild).toEqual([]);
    expect(toBuildOptions('x', flags({ rebuild: ['jvm', 'jvm'] })).rebuild).toEqual(['jvm']);
  });
  it('refuses what it cannot rebuild, and a --trace file, which holds no class-load log', () => {
    expect(() => toBuildOptions('x', flags({ rebuild: ['jvm,python'] }))).toThrow('--rebuild python: slim cannot rebuild that');
    expect(() => toBuildOptions('x', flags({ rebuild: ['jvm'], trace: 't.jsonl' }))).toThrow(/--trace does not hold/);
  });
});

describe('the report of a rebuild', () => {
  const base = { status: 'ok', input: { ref: 'a:1', size: 2e8, files: 10 }, output: { ref: 'a:1-slim', size: 6e7, written: [], files: 5, layerSize: 1, layerMediaType: 'tar' }, reduction: { sizeRatio: 3, filesRatio: 2 }, removed: { largestDirs: [] }, probe: { backend: 'strace', distinctPaths: 1, check: 'ok' }, closure: { kept: 1, byReason: {}, presets: {}, packages: [], excluded: 0, warnings: [] }, budget: { broken: [] }, verify: { checks: [] }, repair: { result: 'not-needed', added: [] }, harden: null, sbom: {}, timings: { read: 1, probe: 1, closure: 1, pack: 1, verify: 1, repair: 0, rebuild: 20.5, total: 30 } };
  const check = { name: 'class sharing (-Xshare:on)', passed: true, detail: 'starts' };
  it('says what it removed and each check, or why the originals were kept', () => {
    const applied: RebuildReport = { target: 'jvm', applied: true, files: [{ path: '/j/lib/modules', before: 128_900_000, after: 19_300_000 }], removedBytes: 109_600_000, detail: {}, checks: [check], seconds: 20 };
    const text = renderText({ ...base, rebuild: [applied] } as unknown as BuildReport);
    expect(text).toMatch(/rebuild {2}jvm: 109\.6 MB less \(\/j\/lib\/modules 128\.9 MB → 19\.3 MB\)/);
    expect(text).toMatch(/rebuild {2}pass {2}class sharing \(-Xshare:on\): starts/);
    expect(text).toMatch(/rebuild 20\.5s/);
    const kept: RebuildReport = { ...applied, applied: false, reason: 're-trace: loaded nothing from jdk.localedata', removedBytes: 0, checks: [{ name: 're-trace', passed: false, detail: 'loaded nothing from jdk.localedata' }] };
    const keptText = renderText({ ...base, rebuild: [kept] } as unknown as BuildReport);
    expect(keptText).toMatch(/rebuild {2}jvm: NOT applied, the original files are kept: re-trace: loaded nothing from jdk\.localedata/);
    expect(keptText).toMatch(/rebuild {2}FAIL {2}re-trace/);
  });
});

describe('the CI step summary of a rebuild', () => {
  it('says what each target removed, or why it was not applied', async () => {
    const { stepSummary } = await import('../../src/report/step-summary.js');
    const r = { schema: 'slim.report/v1', status: 'ok', budget: { broken: [] }, input: { ref: 'a:1', id: 'sha256:1', size: 2e8, files: 10, layers: 1 }, output: { ref: 'a:1-slim', written: [], id: 'sha256:2', digest: 'sha256:3', size: 6e7, files: 5, entries: 6, layerSize: 1, layerMediaType: 'tar' }, reduction: { sizeRatio: 3, filesRatio: 2 }, probe: { backend: 'strace', records: 1, distinctPaths: 1, skippedLines: 0, check: 'ok' }, closure: { kept: 1, byReason: {}, presets: {}, packages: [], excluded: 0, warnings: [] }, removed: { largestDirs: [] }, verify: { original: 'pass', slim: 'pass', details: { original: '', slim: '' }, healthcheck: { original: 'none', slim: 'none' }, checks: [] }, repair: { result: 'not-needed', rounds: 0, added: [] }, harden: null, sbom: { format: 'CycloneDX 1.5', packages: 1 }, timings: { read: 1, probe: 1, closure: 1, pack: 1, verify: 1, repair: 0, total: 5 } };
    const applied = stepSummary({ ...r, rebuild: [{ target: 'jvm', applied: true, files: [{ path: '/j/lib/modules', before: 128_900_000, after: 19_300_000 }], removedBytes: 109_600_000, detail: {}, checks: [], seconds: 1 }] } as unknown as BuildReport);
    expect(applied).toContain('- **Rebuild** jvm: 109.6 MB less, `/j/lib/modules` 128.9 MB → 19.3 MB');
    const kept = stepSummary({ ...r, rebuild: [{ target: 'jvm', applied: false, reason: 'no jmods of this exact JDK build: x', files: [], removedBytes: 0, detail: {}, checks: [], seconds: 0 }] } as unknown as BuildReport);
    expect(kept).toContain('- **Rebuild** jvm: not applied, no jmods of this exact JDK build: x');
  });
});

describe('--rebuild icu: reading the data library and the traces', () => {
  it('finds the data symbol, its file offset from the section that holds it, and the soname', async () => {
    const { dataSymbol, fileOffsetOf, sonameOf, parseItemList } = await import('../../src/rebuild/icu/icu-data.js');
    expect(dataSymbol('0000000000002000 0000000001dcde00 R icudt72_dat\n0000000000001000 0000000000000010 T _init\n', '72')).toEqual({ address: 0x2000, size: 0x1dcde00 });
    expect(dataSymbol('0000000000002000 0000000001dcde00 R icudt74_dat', '72')).toBeUndefined();
    const sections = [
      '  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al',
      '  [ 0]                   NULL            0000000000000000 000000 000000 00      0   0  0',
      '  [ 9] .text             PROGBITS        0000000000001000 001000 000010 00  AX  0   0 16',
      '  [11] .rodata           PROGBITS        0000000000003000 002000 1dcde00 00   A  0   0 32',
    ].join('\n');
    expect(fileOffsetOf(sections, 0x3000)).toBe(0x2000);
    expect(fileOffsetOf(sections, 0x3010)).toBe(0x2010);
    expect(fileOffsetOf(sections, 0x10)).toBeUndefined();
    expect(sonameOf(' 0x000000000000000e (SONAME)             Library soname: [libicudata.so.72]\n')).toBe('libicudata.so.72');
    expect(parseItemList('coll/sv.res\nroot.res\n\nzone/en.res\n')).toEqual(['coll/sv.res', 'root.res', 'zone/en.res']);
  });

  it('takes the items a run opened under ICU_DATA, and the ones a run of the rebuilt image looked for and missed', async () => {
    const { missedItems, openedItems } = await import('../../src/rebuild/icu/icu-data.js');
    const dir = '/.slim-icu/items/icudt72l';
    const all = new Set(['coll/sv.res', 'root.res', 'de.res', 'curr/de.res']);
    const rec = (path: string, ok = true) => ({ pid: 1, op: 'open' as const, path, ok, ...(ok ? {} : { err: 'ENOENT' }), via: 'strace' as const });
    const records = [rec(`${dir}/coll/sv.res`), rec(`${dir}/de.res`), rec(`${dir}/curr/de_DE.res`, false), rec(`${dir}.dat`, false), rec('/etc/passwd'), rec(`${dir}/nope.res`)];
    expect([...openedItems(records, dir, all)].sort()).toEqual(['coll/sv.res', 'de.res']);
    const kept = '/.slim-icu/kept/icudt72l';
    // Not in the package at all (a fallback step), or kept: not missed.
    expect(missedItems([rec(`${kept}/coll/sv.res`, false), rec(`${kept}/curr/de_DE.res`, false), rec(`${kept}/root.res`, false), rec(`${kept}/de.res`)], kept, all, new Set(['root.res', 'de.res']))).toEqual(['coll/sv.res']);
  });

  it('checks collations and locale data apart: a collator line counts only for a kept collation', async () => {
    const { checkedLines, localesOf } = await import('../../src/rebuild/icu/icu-data.js');
    const locales = localesOf(['coll/sv.res', 'coll/root.res', 'de.res', 'ars.res', 'root.res', 'supplementalData.res', 'zoneinfo64.res', 'curr/fr.res']);
    expect(locales).toEqual({ collations: ['sv'], data: ['ars', 'de'] });
    const out = ['icu 72.1.0.0 data 72.1.0.0', 'collator ars U_USING_FALLBACK_WARNING 153.120.42.0 ar', 'dates ars U_ZERO_ERROR x', 'collator sv U_ZERO_ERROR 153.120.42.0 sv', 'dates sv U_ZERO_ERROR y'].join('\n');
    expect(checkedLines(out, locales)).toBe(['icu 72.1.0.0 data 72.1.0.0', 'dates ars U_ZERO_ERROR x', 'collator sv U_ZERO_ERROR 153.120.42.0 sv'].join('\n'));
  });

  it('re-trace: fails naming the items the rebuilt data lacks, or the files the slim image lacks', async () => {
    const { icuRetraceCheck } = await import('../../src/rebuild/icu/icu-checks.js');
    expect(icuRetraceCheck([], [], 38)).toMatchObject({ passed: true, detail: 'the same checks look for no item outside the 38 kept, and open no missing file' });
    expect(icuRetraceCheck(['coll/sv.res'], [], 38)).toMatchObject({ passed: false, detail: "the rebuilt image's runs looked for coll/sv.res, which the rebuilt data lacks" });
    expect(icuRetraceCheck([], ['/a', '/b', '/c', '/d'], 38).detail).toBe("the rebuilt image's runs open /a, /b, /c, … (4), which the slim image lacks");
    // fanotify sees no failed open: the check says what it could not see.
    expect(icuRetraceCheck([], [], 38, false).detail).toMatch(/items looked for and missed are not visible without strace/);
  });

  it('a helper with the ICU tools of exactly the installed libicu, or why there is none', async () => {
    const { icuSourceFor } = await import('../../src/rebuild/icu/icu-data.js');
    const lib = { path: '/usr/lib/x86_64-linux-gnu/libicudata.so.72.1', size: 1, major: '72' };
    const db = { managers: ['dpkg'], packages: [{ manager: 'dpkg', name: 'libicu72', version: '72.1-3+deb12u1', arch: 'amd64' }], files: new Map([['libicu72', [lib.path]]]), installed: new Map(), os: { id: 'debian', versionId: '12' } } as unknown as import('../../src/packages/types.js').PackageDatabase;
    const s = icuSourceFor(lib, db);
    expect(s).toMatchObject({ kind: 'helper', base: 'debian:bookworm', packages: ['icu-devtools=72.1-3+deb12u1', 'libicu-dev=72.1-3+deb12u1', 'gcc', 'libc6-dev', 'binutils'] });
    expect(s.kind === 'helper' && s.tag).toMatch(/^slim-icu-helper:[0-9a-f]{16}$/);
    expect(s.kind === 'helper' && s.dockerfile).toContain('LABEL io.slim.helper=icu');
    expect(icuSourceFor({ ...lib, path: '/opt/icu/lib/libicudata.so.74' }, db)).toEqual({ kind: 'none', reason: "/opt/icu/lib/libicudata.so.74 belongs to no package the image's database lists" });
    expect(icuSourceFor(lib, { ...db, os: { id: 'alpine', versionId: '3.20' } } as typeof db)).toEqual({ kind: 'none', reason: 'no helper base for alpine 3.20' });
  });
});
