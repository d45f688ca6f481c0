import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { flatten, type TarEntry } from '../../src/rootfs/flatten.js';
import type { FileIndex } from '../../src/rootfs/file-index.js';
import type { ContentReader } from '../../src/sources/content-spool.js';
import { dpkgPackageName, parseDpkgList, parseDpkgMd5sums, parseDpkgStatus } from '../../src/packages/dpkg.js';
import { parseApkChecksums, parseApkInstalled, parseApkVersions } from '../../src/packages/apk.js';
import { parseOsRelease } from '../../src/packages/os-release.js';
import { installedCount, readPackageDatabase, type PackageDatabase } from '../../src/packages/database.js';
import { computeClosure } from '../../src/closure/closure.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const sha1b64 = (s: string) => createHash('sha1').update(s).digest('base64');

/** A name ending in / is a directory, a string a file with that text, `{ link }` a symlink. */
type Layer = Record<string, string | { link: string }>;

/** An image made in memory: its layers flattened, and a content reader over the files' bytes. */
function imageOf(layers: Layer[]): { index: FileIndex; content: ContentReader } {
  const bytes = new Map<number, Buffer>();
  let offset = 0;
  const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
  const entries = layers.map((layer, i) =>
    Object.entries(layer).map(([name, spec]): TarEntry => {
      if (typeof spec !== 'string') return { ...meta, name, type: 'symlink', size: 0, linkname: spec.link };
      if (name.endsWith('/')) return { ...meta, name, type: 'directory', mode: 0o755, size: 0 };
      const body = Buffer.from(spec, 'latin1');
      bytes.set(offset, body);
      const at = { layer: i, offset, size: body.length };
      offset += body.length + 1;
      return { ...meta, name, type: 'file', size: body.length, at };
    }),
  );
  const bodyOf = (e: { at: { offset: number } }) => bytes.get(e.at.offset)!;
  return {
    index: flatten(entries),
    content: {
      read: async (e, range) => (range ? bodyOf(e).subarray(range.start, range.start + range.length) : bodyOf(e)),
      stream: (e) => Readable.from([bodyOf(e)]),
    },
  };
}

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
`;

describe('package database parsers', () => {
  it('dpkg status: installed packages only, with version and arch', () => {
    expect(parseDpkgStatus(STATUS)).toEqual([
      { manager: 'dpkg', name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64' },
      { manager: 'dpkg', name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
    ]);
  });

  it('apk installed db and os-release', () => {
    expect(parseApkVersions('C:Q1x\nP:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:libc.musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r5\n')).toEqual([
      { manager: 'apk', name: 'musl', version: '1.2.4-r2', arch: 'x86_64' },
      { manager: 'apk', name: 'busybox', version: '1.36.1-r5' },
    ]);
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')).toEqual({ id: 'debian', versionId: '12' });
    expect(parseOsRelease('NAME=x\n')).toBeUndefined();
  });

  it('counts installed dpkg and apk packages', () => {
    const status = [
      'Package: bash\nStatus: install ok installed\nVersion: 5.2\nDescription: GNU shell\n the shell\n .\n more',
      'Package: gone\nStatus: deinstall ok config-files\nVersion: 1',
      'Package: coreutils\nStatus: install ok installed\nVersion: 9.1',
      'Package: half\nStatus: install ok half-configured\nVersion: 2',
    ].join('\n\n') + '\n';
    expect(parseDpkgStatus(status).length).toBe(2);
    expect(parseDpkgStatus('').length).toBe(0);
    const apk = 'C:Q1abc=\nP:musl\nV:1.2.4\nR:libc.so\n\nC:Q1def=\nP:busybox\nV:1.36\nF:bin\nR:busybox\n\n';
    expect(parseApkVersions(apk).length).toBe(2);
  });

  it('apk and dpkg databases parse into package file lists', () => {
    const apk = parseApkInstalled('C:Q1x\nP:musl\nV:1.2.4\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:busybox\nF:bin\nR:busybox\nF:etc\nR:securetty\n');
    expect(Object.fromEntries(apk)).toEqual({ musl: ['/lib', '/lib/ld-musl-x86_64.so.1', '/lib/libc.musl-x86_64.so.1'], busybox: ['/bin', '/bin/busybox', '/etc', '/etc/securetty'] });
    expect(dpkgPackageName('libc6:amd64.list')).toBe('libc6');
    expect(dpkgPackageName('dash.list')).toBe('dash');
    expect(dpkgPackageName('dash.md5sums')).toBeUndefined();
    expect(parseDpkgList('/.\n/bin\n/bin/dash\n\n')).toEqual(['/bin', '/bin/dash']);
  });

  it('parses dpkg md5sums and apk Z: lines by path', () => {
    expect(parseDpkgMd5sums(`${md5('a')}  usr/bin/a\nbad line\n${md5('b')} *etc/b\n`)).toEqual(new Map([['/usr/bin/a', md5('a')], ['/etc/b', md5('b')]]));
    const z = 'Q1' + sha1b64('x');
    expect(parseApkChecksums(`P:p\nF:usr/bin\nR:x\nZ:${z}\nR:y\n\nP:q\nR:top\nZ:${z}\n`)).toEqual(new Map([['/usr/bin/x', sha1('x')], ['/top', sha1('x')]]));
  });
});

/** A merged-/usr Debian: libc6 for two architectures, dash, and tzdata installed by a later layer. */
const debian: Layer[] = [
  {
    'usr/': '', 'usr/bin/': '', 'usr/lib/': '', 'usr/lib/i386-linux-gnu/': '', 'usr/lib/x86_64-linux-gnu/': '',
    bin: { link: 'usr/bin' }, lib: { link: 'usr/lib' },
    'usr/bin/dash': 'dash', 'usr/bin/sh': { link: 'dash' },
    'usr/lib/x86_64-linux-gnu/libc.so.6': 'libc64', 'usr/lib/i386-linux-gnu/libc.so.6': 'libc32',
    'usr/lib/os-release': 'ID=debian\nVERSION_ID="12"\n',
    'etc/': '', 'etc/os-release': { link: '../usr/lib/os-release' }, 'etc/dash.conf': 'conf',
    'var/': '', 'var/lib/': '', 'var/lib/dpkg/': '', 'var/lib/dpkg/info/': '',
    'var/lib/dpkg/status': 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\n\nPackage: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12\n',
    'var/lib/dpkg/info/libc6:amd64.list': '/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n',
    'var/lib/dpkg/info/libc6:amd64.md5sums': `${md5('libc64')}  lib/x86_64-linux-gnu/libc.so.6\n`,
    'var/lib/dpkg/info/libc6:i386.list': '/.\n/lib/i386-linux-gnu/libc.so.6\n',
    'var/lib/dpkg/info/dash.list': '/.\n/bin\n/bin/dash\n/bin/sh\n/etc/dash.conf\n/usr/share/man/man1/dash.1.gz\n',
    'var/lib/dpkg/info/dash.md5sums': `${md5('dash')}  bin/dash\n`,
    'var/lib/dpkg/info/dash.conffiles': '/etc/dash.conf\n',
  },
  {
    'usr/share/': '', 'usr/share/zoneinfo/': '', 'usr/share/zoneinfo/UTC': 'TZif',
    'var/lib/dpkg/status': 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36\n\nPackage: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a\n',
    'var/lib/dpkg/info/tzdata.list': '/.\n/usr/share/zoneinfo\n/usr/share/zoneinfo/UTC\n',
    'var/lib/dpkg/info/tzdata.md5sums': `${md5('TZif')}  usr/share/zoneinfo/UTC\n`,
  },
];

describe('readPackageDatabase', () => {
  it('reads a dpkg database: installed packages from the status, files per package across architectures, and os-release through its link', async () => {
    const { index, content } = imageOf(debian);
    const db = await readPackageDatabase(index, content);
    expect(db.managers).toEqual(['dpkg']);
    expect(db.packages).toEqual([
      { manager: 'dpkg', name: 'libc6', version: '2.36', arch: 'amd64' },
      { manager: 'dpkg', name: 'dash', version: '0.5.12', arch: 'amd64' },
      { manager: 'dpkg', name: 'tzdata', version: '2024a', arch: 'all' },
    ]);
    expect(Object.fromEntries(db.files)).toEqual({
      libc6: ['/lib', '/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu/libc.so.6', '/lib/i386-linux-gnu/libc.so.6'],
      dash: ['/bin', '/bin/dash', '/bin/sh', '/etc/dash.conf', '/usr/share/man/man1/dash.1.gz'],
      tzdata: ['/usr/share/zoneinfo', '/usr/share/zoneinfo/UTC'],
    });
    expect(db.os).toEqual({ id: 'debian', versionId: '12' });
    expect(installedCount(db, 'dpkg')).toBe(3);
    expect(installedCount(db, 'apk')).toBeNull();
  });

  it('records each installed file by real path with the layer of its list and its md5, leaving out directories and what the image lacks', async () => {
    const { index, content } = imageOf(debian);
    const { installed } = await readPackageDatabase(index, content);
    expect(Object.fromEntries(installed)).toEqual({
      // Merged /usr: the directories dpkg lists as /lib and /bin are links here, and the links are what it records.
      '/lib': { layer: 0 },
      '/bin': { layer: 0 },
      '/usr/lib/x86_64-linux-gnu/libc.so.6': { layer: 0, sum: { algorithm: 'md5', hex: md5('libc64') } },
      '/usr/lib/i386-linux-gnu/libc.so.6': { layer: 0 },
      '/usr/bin/dash': { layer: 0, sum: { algorithm: 'md5', hex: md5('dash') } },
      // The link itself, not its target: dpkg lists /bin/sh as the link it installed.
      '/usr/bin/sh': { layer: 0 },
      // A conffile has no md5sums line.
      '/etc/dash.conf': { layer: 0 },
      '/usr/share/zoneinfo/UTC': { layer: 1, sum: { algorithm: 'md5', hex: md5('TZif') } },
    });
  });

  it('reads an apk database once for packages, files and SHA-1 checksums', async () => {
    const installedDb = `C:Q1abc\nP:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\nZ:${'Q1' + sha1b64('musl')}\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\nF:bin\nR:busybox\nZ:${'Q1' + sha1b64('bb')}\nR:sh\n\n`;
    const { index, content } = imageOf([
      {
        'lib/': '', 'lib/ld-musl-x86_64.so.1': 'musl', 'bin/': '', 'bin/busybox': 'bb', 'bin/sh': { link: '/bin/busybox' },
        'lib/apk/': '', 'lib/apk/db/': '', 'lib/apk/db/installed': installedDb,
        'etc/': '', 'etc/os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n',
      },
    ]);
    const db = await readPackageDatabase(index, content);
    expect(db.managers).toEqual(['apk']);
    expect(db.packages).toEqual([
      { manager: 'apk', name: 'musl', version: '1.2.4-r2', arch: 'x86_64' },
      { manager: 'apk', name: 'busybox', version: '1.36.1-r5', arch: 'x86_64' },
    ]);
    expect(Object.fromEntries(db.files)).toEqual({ musl: ['/lib', '/lib/ld-musl-x86_64.so.1'], busybox: ['/bin', '/bin/busybox', '/bin/sh'] });
    expect(Object.fromEntries(db.installed)).toEqual({
      '/lib/ld-musl-x86_64.so.1': { layer: 0, sum: { algorithm: 'sha1', hex: sha1('musl') } },
      '/bin/busybox': { layer: 0, sum: { algorithm: 'sha1', hex: sha1('bb') } },
      '/bin/sh': { layer: 0 },
    });
    expect(db.os).toEqual({ id: 'alpine', versionId: '3.19.1' });
    expect([installedCount(db, 'dpkg'), installedCount(db, 'apk')]).toEqual([null, 2]);
  });

  it('is empty for an image without a package database', async () => {
    const { index, content } = imageOf([{ 'bin/': '', 'bin/app': 'app', 'var/': '', 'var/lib/': '', 'var/lib/dpkg/': '' }]);
    const db = await readPackageDatabase(index, content);
    expect(db).toEqual({ managers: [], packages: [], files: new Map(), installed: new Map() });
    expect(installedCount(db, 'dpkg')).toBeNull();
  });

  it('counts an empty dpkg status as a database with no packages', async () => {
    const { index, content } = imageOf([{ 'var/': '', 'var/lib/': '', 'var/lib/dpkg/': '', 'var/lib/dpkg/status': '' }]);
    const db = await readPackageDatabase(index, content);
    expect(db.managers).toEqual(['dpkg']);
    expect(installedCount(db, 'dpkg')).toBe(0);
  });
});

describe('the closure with a database already read', () => {
  it('keeps packages whole from the database it is given, without reading one of its own', async () => {
    const { index, content } = imageOf([{ 'app/': '', 'app/run': 'run', 'app/data': 'data', 'app/other': 'other' }]);
    const given: PackageDatabase = { managers: ['dpkg'], packages: [], files: new Map([['app', ['/app', '/app/run', '/app/data']]]), installed: new Map() };
    const policy = { ignore: [], include: [], commands: [], config: {}, keepPackages: true };
    const records = [{ pid: 1, op: 'open' as const, path: '/app/run', ok: true, via: 'strace' as const }];
    const withDb = await computeClosure(index, records, policy, content, given);
    expect(withDb.packages).toEqual(['app']);
    expect(withDb.selection.why('/app/data')).toEqual([{ why: 'package', from: 'app' }]);
    expect(withDb.selection.has('/app/other')).toBe(false);
    // Read from the image, which has no database, nothing is kept whole.
    const read = await computeClosure(index, records, policy, content);
    expect(read.packages).toEqual([]);
    expect(read.warnings).toContain('--keep-packages: the image has no dpkg or apk database');
  });
});
