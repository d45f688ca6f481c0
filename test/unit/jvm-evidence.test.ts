import { describe, expect, it } from 'vitest';
import { flatten, type TarEntry } from '../../src/rootfs/flatten.js';
import { localeOfDataClass, parseClassLoadLine, readClassLoadLog } from '../../src/rebuild/jvm/class-log.js';
import { moduleSet, packagesByModule, parseJdepsModules } from '../../src/rebuild/jvm/module-set.js';
import { findJavaHomes } from '../../src/rebuild/jvm/java-home.js';
import { jdkSourceFor, sameBuild } from '../../src/rebuild/jvm/jdk-source.js';
import type { PackageDatabase } from '../../src/packages/types.js';

// Lines as JDK 17 writes them with -Xlog:class+load:file=...
const LOG = [
  '[0.008s][info][class,load] java.lang.Object source: shared objects file',
  '[0.009s][info][class,load] java.util.logging.Logger source: shared objects file',
  '[0.051s][info][class,load] sun.util.resources.cldr.provider.CLDRLocaleDataMetaInfo source: jrt:/jdk.localedata',
  '[0.052s][info][class,load] sun.text.resources.cldr.ext.FormatData_de source: jrt:/jdk.localedata',
  '[0.053s][info][class,load] sun.util.resources.cldr.ext.LocaleNames_de_CH source: jrt:/jdk.localedata',
  '[0.060s][info][class,load] sun.security.ec.SunEC source: jrt:/jdk.crypto.ec',
  '[0.070s][info][class,load] App source: file:/app/app.jar',
  '[0.071s][info][class,load] java.lang.invoke.LambdaForm$MH/0x0000000800c01000 source: __JVM_LookupDefineClass__',
  'a line that is not a record',
  '',
].join('\n');

describe('the class-load log', () => {
  it('tells each class source: a module of the runtime image, the CDS archive, the app, or other', () => {
    expect(parseClassLoadLine(LOG.split('\n')[0]!)).toEqual({ name: 'java.lang.Object', source: { kind: 'shared' } });
    expect(parseClassLoadLine(LOG.split('\n')[5]!)).toEqual({ name: 'sun.security.ec.SunEC', source: { kind: 'module', module: 'jdk.crypto.ec' } });
    expect(parseClassLoadLine(LOG.split('\n')[6]!)?.source).toEqual({ kind: 'file', location: 'file:/app/app.jar' });
    expect(parseClassLoadLine(LOG.split('\n')[7]!)?.source).toEqual({ kind: 'other', source: '__JVM_LookupDefineClass__' });
    expect(parseClassLoadLine('[0.1s][info][gc] Using G1')).toBeUndefined();
  });

  it('collects modules, shared classes, app locations and the locales whose data was loaded', () => {
    const ev = readClassLoadLog(LOG);
    expect([...ev.modules].sort()).toEqual(['jdk.crypto.ec', 'jdk.localedata']);
    expect([...ev.sharedClasses].sort()).toEqual(['java.lang.Object', 'java.util.logging.Logger']);
    expect([...ev.appLocations]).toEqual(['file:/app/app.jar']);
    expect([...ev.locales].sort()).toEqual(['de', 'de-CH']);
    expect(ev.skipped).toBe(1);
  });

  it('adds the logs of several runs into one evidence', () => {
    const ev = readClassLoadLog('[0.1s][info][class,load] sun.net.httpserver.ServerImpl source: jrt:/jdk.httpserver\n', readClassLoadLog(LOG));
    expect(ev.modules.has('jdk.httpserver')).toBe(true);
    expect(ev.modules.has('jdk.localedata')).toBe(true);
  });

  it('reads a locale only from locale-data resource classes', () => {
    expect(localeOfDataClass('sun.text.resources.cldr.ext.FormatData_fr')).toBe('fr');
    expect(localeOfDataClass('sun.util.resources.cldr.ext.CurrencyNames_pt_BR')).toBe('pt-BR');
    expect(localeOfDataClass('sun.util.resources.cldr.provider.CLDRLocaleDataMetaInfo')).toBeUndefined();
    expect(localeOfDataClass('java.util.Locale')).toBeUndefined();
    expect(localeOfDataClass('com.example.FormatData_de')).toBeUndefined();
  });
});

describe('the module set for jlink', () => {
  const JIMAGE = [
    'jimage: /usr/lib/jvm/java-17-openjdk-amd64/lib/modules',
    '',
    'Module: java.base',
    '    java/lang/Object.class',
    '    java/lang/String.class',
    '    META-INF/services/java.nio.file.spi.FileSystemProvider',
    'Module: java.logging',
    '    java/util/logging/Logger.class',
    'Module: jdk.localedata',
    '    sun/text/resources/cldr/ext/FormatData_de.class',
  ].join('\n');

  it('maps packages to modules from jimage list', () => {
    const pkgs = packagesByModule(JIMAGE);
    expect(pkgs.get('java.lang')).toBe('java.base');
    expect(pkgs.get('java.util.logging')).toBe('java.logging');
    expect(pkgs.get('sun.text.resources.cldr.ext')).toBe('jdk.localedata');
    expect(pkgs.has('META-INF.services')).toBe(false);
  });

  it('is java.base, the loaded modules, the shared classes by package and jdeps, sorted', () => {
    const set = moduleSet(readClassLoadLog(LOG), packagesByModule(JIMAGE), parseJdepsModules('java.base,java.net.http\n'));
    expect(set.modules).toEqual(['java.base', 'java.logging', 'java.net.http', 'jdk.crypto.ec', 'jdk.localedata']);
    expect(set.unplaced).toEqual([]);
  });

  it('names shared classes whose package no module holds, rather than guessing', () => {
    const ev = readClassLoadLog('[0.1s][info][class,load] org.gone.Thing source: shared objects file\n');
    expect(moduleSet(ev, packagesByModule(JIMAGE)).unplaced).toEqual(['org.gone.Thing']);
    expect(moduleSet(ev, packagesByModule(JIMAGE)).modules).toEqual(['java.base']);
  });

  it('takes only module names from jdeps output', () => {
    expect(parseJdepsModules('java.base,java.sql,jdk.unsupported')).toEqual(['java.base', 'java.sql', 'jdk.unsupported']);
    expect(parseJdepsModules('Warning: split package\n')).not.toContain('split package');
    expect(parseJdepsModules('')).toEqual([]);
  });
});

describe('Java homes in an image', () => {
  const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
  let offset = 0;
  const file = (name: string, size = 4): TarEntry => ({ ...meta, name, type: 'file', size, at: { layer: 0, offset: (offset += size), size } });
  const dir = (name: string): TarEntry => ({ ...meta, name, type: 'directory', mode: 0o755, size: 0 });

  it('finds a JRE with its CDS archive, and a JDK with its jmods', () => {
    const jre = '/usr/lib/jvm/java-17-openjdk-amd64';
    const jdk = '/opt/jdk';
    const index = flatten([
      [
        dir(jre), dir(`${jre}/lib`), dir(`${jre}/lib/server`), dir(`${jre}/bin`),
        file(`${jre}/lib/modules`, 1000), file(`${jre}/lib/server/libjvm.so`), file(`${jre}/lib/server/classes.jsa`), file(`${jre}/bin/java`),
        dir(jdk), dir(`${jdk}/lib`), dir(`${jdk}/lib/server`), dir(`${jdk}/bin`), dir(`${jdk}/jmods`),
        file(`${jdk}/lib/modules`, 2000), file(`${jdk}/lib/server/libjvm.so`), file(`${jdk}/bin/java`), file(`${jdk}/jmods/java.base.jmod`),
        // Not a Java home: no libjvm, no launcher.
        dir('/srv'), dir('/srv/lib'), file('/srv/lib/modules'),
      ],
    ]);
    const homes = findJavaHomes(index);
    expect(homes.map((h) => h.home)).toEqual([jdk, jre]);
    expect(homes[1]).toMatchObject({ modules: `${jre}/lib/modules`, modulesSize: 1000, cdsArchive: `${jre}/lib/server/classes.jsa` });
    expect(homes[1]!.jmods).toBeUndefined();
    expect(homes[0]).toMatchObject({ jmods: `${jdk}/jmods` });
    expect(homes[0]!.cdsArchive).toBeUndefined();
  });
});

describe('where jmods come from', () => {
  const home = { home: '/usr/lib/jvm/java-17-openjdk-amd64', modules: '/usr/lib/jvm/java-17-openjdk-amd64/lib/modules', modulesSize: 1, libjvm: 'x', launcher: 'y' };
  const db = (over: Partial<PackageDatabase> = {}): PackageDatabase => ({
    managers: ['dpkg'],
    packages: [{ manager: 'dpkg', name: 'openjdk-17-jre-headless', version: '17.0.15+6-1~deb12u1', arch: 'amd64' }],
    files: new Map([['openjdk-17-jre-headless', [home.modules, `${home.home}/lib/server/libjvm.so`]]]),
    installed: new Map(),
    os: { id: 'debian', versionId: '12' },
    ...over,
  });

  it("uses the image's own jmods when it has them", () => {
    expect(jdkSourceFor({ ...home, jmods: '/opt/jdk/jmods' }, db())).toEqual({ kind: 'image', jmods: '/opt/jdk/jmods' });
  });

  it('asks for the JDK and jmods of exactly the installed version, on the same Debian release, tagged by its Dockerfile', () => {
    const s = jdkSourceFor(home, db());
    expect(s).toMatchObject({ kind: 'helper', base: 'debian:bookworm', packages: ['openjdk-17-jdk-headless=17.0.15+6-1~deb12u1'] });
    if (s.kind !== 'helper') throw new Error('not a helper');
    expect(s.dockerfile).toContain('FROM debian:bookworm');
    expect(s.dockerfile).toContain('openjdk-17-jdk-headless=17.0.15+6-1~deb12u1');
    // Trixie ships the jmods in a package of their own.
    expect(jdkSourceFor(home, db({ os: { id: 'debian', versionId: '13' } }))).toMatchObject({ base: 'debian:trixie', packages: ['openjdk-17-jdk-headless=17.0.15+6-1~deb12u1', 'openjdk-17-jmods=17.0.15+6-1~deb12u1'] });
    expect(s.tag).toMatch(/^slim-jdk-helper:[0-9a-f]{16}$/);
    const other = jdkSourceFor(home, db({ packages: [{ manager: 'dpkg', name: 'openjdk-17-jre-headless', version: '17.0.16+8-1~deb12u1' }] }));
    expect(other.kind === 'helper' && other.tag).not.toBe(s.tag);
  });

  it('says why when no matching JDK can be had', () => {
    expect(jdkSourceFor(home, db({ files: new Map() }))).toMatchObject({ kind: 'none', reason: expect.stringContaining('belongs to no package') });
    expect(jdkSourceFor(home, db({ files: new Map([['temurin-17-jre', [home.modules]]]) }))).toMatchObject({ kind: 'none', reason: expect.stringContaining('temurin-17-jre') });
    expect(jdkSourceFor(home, db({ os: { id: 'alpine', versionId: '3.20' } }))).toMatchObject({ kind: 'none', reason: expect.stringContaining('alpine') });
    expect(jdkSourceFor(home, db({ packages: [] }))).toMatchObject({ kind: 'none', reason: expect.stringContaining('not installed') });
  });

  it('takes a helper only when both lib/modules and libjvm.so match by sha256', () => {
    expect(sameBuild({ modules: 'a', libjvm: 'b' }, { modules: 'a', libjvm: 'b' })).toEqual({ same: true });
    expect(sameBuild({ modules: 'a', libjvm: 'b' }, { modules: 'a', libjvm: 'c' })).toEqual({ same: false, reason: expect.stringContaining('libjvm.so differ') });
    expect(sameBuild({ modules: 'a', libjvm: 'b' }, { modules: 'x', libjvm: 'c' })).toMatchObject({ reason: expect.stringContaining('lib/modules and libjvm.so') });
  });
});
