import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import { computeClosure, type ClosurePolicy } from '../../src/closure/closure.js';
import { appEntries } from '../../src/closure/app.js';
import { readPackageDatabase } from '../../src/packages/database.js';
import { packagedPaths } from '../../src/packages/owners.js';
import { isIgnored } from '../../src/closure/closure.js';
import type { AccessRecord } from '../../src/trace/record.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

// A real x86-64 ELF (dynamic, interpreter /lib64/ld-linux-x86-64.so.2, NEEDED libc.so.6): its
// bytes stand in for the app's own binary and for libc, whose class and machine they share.
const ELF = readFileSync('/usr/bin/true');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha1b64 = (s: string) => createHash('sha1').update(s).digest('base64');

/** A merged-/usr Debian: python3 with byte code compiled at install, libc6, mawk, ca-certificates; the app in /app and /usr/local. */
const debian: Spec[] = [
  { path: 'usr/' },
  { path: 'usr/bin/' },
  { path: 'usr/bin/python3.11', body: 'py', mode: 0o755 },
  { path: 'usr/bin/mawk', body: 'awk', mode: 0o755 },
  { path: 'usr/bin/perl', body: 'perl', mode: 0o755 },
  { path: 'usr/bin/awk', type: 'symlink', linkname: '/etc/alternatives/awk' },
  { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { path: 'lib64', type: 'symlink', linkname: 'usr/lib64' },
  { path: 'usr/lib64/' },
  { path: 'usr/lib64/ld-linux-x86-64.so.2', body: 'ld', mode: 0o755 },
  { path: 'usr/lib/' },
  { path: 'usr/lib/x86_64-linux-gnu/' },
  { path: 'usr/lib/x86_64-linux-gnu/libc.so.6', body: ELF },
  { path: 'usr/lib/x86_64-linux-gnu/libm.so.6', body: 'libm' },
  { path: 'usr/lib/python3.11/' },
  { path: 'usr/lib/python3.11/json.py', body: 'json' },
  { path: 'usr/lib/python3.11/unused.py', body: 'unused' },
  { path: 'usr/lib/python3.11/__pycache__/' },
  { path: 'usr/lib/python3.11/__pycache__/json.cpython-311.pyc', body: 'pyc-of-a-package' },
  { path: 'usr/lib/python3.11/__pycache__/unused.cpython-311.pyc', body: 'pyc-of-a-package' },
  { path: 'usr/share/' },
  { path: 'usr/share/ca-certificates/' },
  { path: 'usr/share/ca-certificates/root.crt', body: 'CERT' },
  { path: 'usr/share/doc/' },
  { path: 'usr/share/doc/app/' },
  { path: 'usr/share/doc/app/README', body: 'docs' },
  { path: 'usr/share/man/' },
  { path: 'usr/share/man/man1/' },
  { path: 'usr/share/man/man1/tool.1.gz', body: 'man' },
  { path: 'usr/local/' },
  { path: 'usr/local/bin/' },
  { path: 'usr/local/bin/tool', body: ELF, mode: 0o755 },
  { path: 'usr/local/lib/' },
  { path: 'usr/local/lib/site.py', body: 'site' },
  { path: 'app/' },
  { path: 'app/server.py', body: 'import reportlib' },
  { path: 'app/reportlib.py', body: 'def render(): ...' },
  { path: 'app/__pycache__/' },
  { path: 'app/__pycache__/reportlib.cpython-311.pyc', body: 'app pyc' },
  { path: 'app/__pycache__/removed.cpython-311.pyc', body: 'stale pyc' },
  { path: 'app/templates/' },
  { path: 'app/templates/report.html', body: '<h1>{title}</h1>' },
  { path: 'app/data/' }, // empty, written at run time
  { path: 'app/current', type: 'symlink', linkname: '/var/lib/app/releases/1' }, // dangling
  { path: 'etc/' },
  { path: 'etc/ld.so.cache', body: 'cache' },
  { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
  { path: 'etc/group', body: 'root:x:0:\n' },
  { path: 'etc/shadow', body: 'root:*:19000::::::\n', mode: 0o640 },
  { path: 'etc/alternatives/' },
  { path: 'etc/alternatives/awk', type: 'symlink', linkname: '/usr/bin/mawk' },
  { path: 'etc/ssl/' },
  { path: 'etc/ssl/certs/' },
  { path: 'etc/ssl/certs/root.pem', type: 'symlink', linkname: '/usr/share/ca-certificates/root.crt' },
  { path: 'etc/ssl/certs/ca-certificates.crt', body: 'CERT' },
  { path: 'tmp/' },
  { path: 'tmp/build.log', body: 'junk' },
  { path: 'var/' },
  { path: 'var/tmp/' },
  { path: 'var/tmp/x', body: 'junk' },
  { path: 'var/log/' },
  { path: 'var/log/dpkg.log', body: 'log' },
  { path: 'var/log/app/', uid: 1001 },
  { path: 'var/cache/' },
  { path: 'var/cache/apt/' },
  { path: 'var/cache/apt/pkgcache.bin', body: 'cache' },
  { path: 'var/cache/app/' },
  { path: 'var/lib/' },
  { path: 'var/lib/apt/' },
  { path: 'var/lib/apt/lists/' },
  { path: 'var/lib/apt/lists/deb.debian.org_Packages', body: 'lists' },
  { path: 'var/lib/dpkg/' },
  { path: 'var/lib/dpkg/status', body: 'Package: libc6\n' },
  { path: 'var/lib/dpkg/info/' },
  { path: 'var/lib/dpkg/info/libc6:amd64.list', body: '/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libc.so.6\n/usr/lib/x86_64-linux-gnu/libm.so.6\n/lib64/ld-linux-x86-64.so.2\n' },
  { path: 'var/lib/dpkg/info/python3.11.list', body: '/.\n/usr\n/usr/bin\n/usr/bin/python3.11\n/usr/lib/python3.11\n/usr/lib/python3.11/json.py\n/usr/lib/python3.11/unused.py\n' },
  { path: 'var/lib/dpkg/info/mawk.list', body: '/.\n/usr/bin/mawk\n' },
  { path: 'var/lib/dpkg/info/perl.list', body: '/.\n/usr/bin/perl\n' },
  { path: 'var/lib/dpkg/info/ca-certificates.list', body: '/.\n/usr/share\n/usr/share/ca-certificates\n/usr/share/ca-certificates/root.crt\n/etc/ssl\n/etc/ssl/certs\n' },
  { path: 'var/lib/dpkg/info/base-files.list', body: '/.\n/usr/local\n/var\n/var/lib\n/var/log\n/var/cache\n/etc\n/usr/share/doc\n' },
  { path: 'root/' },
  { path: 'root/.cache/' },
  { path: 'root/.cache/pip/' },
  { path: 'root/.cache/pip/http/' },
  { path: 'root/.cache/pip/http/0a', body: 'wheel' },
  { path: 'root/.npm/' },
  { path: 'root/.npm/_cacache/' },
  { path: 'root/.npm/_cacache/index', body: 'npm' },
  { path: 'data/' },
  { path: 'data/volume-seed', body: 'v' },
];

const rec = (path: string, op: AccessRecord['op'] = 'open'): AccessRecord => ({ pid: 1, op, path, ok: true, via: 'fanotify' });
const light = [rec('/usr/bin/python3.11', 'exec'), rec('/app/server.py')];

async function closure(layers: Spec[][], records: AccessRecord[], policy: Partial<ClosurePolicy> = {}) {
  const r = await readLayers(await Promise.all(layers.map((l) => mkLayer(l))));
  cleanups.push(r.cleanup);
  const res = await computeClosure(r.index, records, { ignore: [], include: [], commands: [], config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] }, presets: ['app'], ...policy }, r.spool);
  return { ...res, index: r.index, spool: r.spool, kept: new Set(res.selection.paths()), why: (p: string) => res.selection.why(p).map((x) => (x.from ? `${x.why}:${x.from}` : x.why)) };
}

describe('--keep app on a dpkg image', () => {
  it('keeps what no package owns: the app, /usr/local, files and links made by maintainer scripts, the user database', async () => {
    const { kept, why, presets, warnings } = await closure([debian], light);
    for (const p of ['/app/reportlib.py', '/app/templates/report.html', '/app/data', '/usr/local/lib/site.py', '/usr/local/bin/tool', '/etc/ld.so.cache', '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/ssl/certs/ca-certificates.crt', '/bin', '/lib64']) {
      expect(kept.has(p), p).toBe(true);
    }
    expect(why('/app/templates/report.html')).toEqual(['keep:app']);
    // A dangling link is kept as a link.
    expect(kept.has('/app/current')).toBe(true);
    // Owned files nothing asked for stay out, and so do the links maintainer scripts made to them.
    for (const p of ['/usr/bin/perl', '/usr/lib/python3.11/unused.py', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/usr/bin/mawk', '/etc/alternatives/awk', '/usr/bin/awk', '/usr/share/ca-certificates/root.crt', '/etc/ssl/certs/root.pem']) {
      expect(kept.has(p), p).toBe(false);
    }
    expect(presets.app).toBeGreaterThan(20);
    expect(warnings.filter((w) => w.startsWith('--keep'))).toEqual([]);
  });

  it('keeps the links maintainer scripts made (alternatives, certificate hashes) when what they land on is kept', async () => {
    const { kept, why } = await closure([debian], [...light, rec('/usr/bin/mawk', 'exec'), rec('/usr/share/ca-certificates/root.crt')]);
    for (const p of ['/usr/bin/awk', '/etc/alternatives/awk', '/etc/ssl/certs/root.pem']) expect(why(p)[0], p).toMatch(/^symlink-to-kept/);
    expect(kept.has('/usr/bin/perl')).toBe(false);
  });

  it('leaves out package-manager state, docs, user caches, logs, caches and temp files, but keeps their directories where apps write', async () => {
    const { kept } = await closure([debian], light);
    const out = ['/var/lib/dpkg/status', '/var/lib/dpkg/info/perl.list', '/var/lib/apt/lists/deb.debian.org_Packages', '/var/lib/apt', '/var/cache/apt/pkgcache.bin', '/var/log/dpkg.log', '/tmp/build.log', '/var/tmp/x', '/root/.cache/pip/http/0a', '/root/.cache', '/root/.npm/_cacache/index', '/root/.npm', '/usr/share/doc/app/README', '/usr/share/man/man1/tool.1.gz', '/usr/share/doc/app'];
    for (const p of out) expect(kept.has(p), p).toBe(false);
    for (const p of ['/var/log/app', '/var/cache/app', '/var/cache/apt', '/tmp', '/var/tmp']) expect(kept.has(p), p).toBe(true);
  });

  it("keeps byte code only beside the app's own source: not a package's (compiled at install), not a stale one", async () => {
    const { kept } = await closure([debian], light);
    expect(kept.has('/app/__pycache__/reportlib.cpython-311.pyc')).toBe(true);
    expect(kept.has('/app/__pycache__/removed.cpython-311.pyc')).toBe(false);
    expect(kept.has('/usr/lib/python3.11/__pycache__/unused.cpython-311.pyc')).toBe(false);
    expect(kept.has('/usr/lib/python3.11/__pycache__/json.cpython-311.pyc')).toBe(false);
    // ...unless the trace saw it: then it is kept like any traced file.
    const t = await closure([debian], [...light, rec('/usr/lib/python3.11/__pycache__/json.cpython-311.pyc')]);
    expect(t.kept.has('/usr/lib/python3.11/__pycache__/json.cpython-311.pyc')).toBe(true);
  });

  it('gives an unowned binary its whole ELF closure: interpreter and libraries, from packages', async () => {
    const { why } = await closure([debian], [rec('/app/server.py')]);
    expect(why('/usr/local/bin/tool')).toEqual(['keep:app']);
    expect(why('/usr/lib/x86_64-linux-gnu/libc.so.6')).toContain('elf-needed:/usr/local/bin/tool');
    expect(why('/usr/lib64/ld-linux-x86-64.so.2')).toContain('elf-interp:/usr/local/bin/tool');
    expect(why('/lib64')[0]).toMatch(/^(symlink|keep)/);
  });

  it('with --keep-packages, the packages the app reaches are kept whole: a light probe still gets libm', async () => {
    const { kept, packages } = await closure([debian], light, { keepPackages: true });
    expect(packages).toEqual(['libc6', 'python3.11']);
    expect(kept.has('/usr/lib/x86_64-linux-gnu/libm.so.6')).toBe(true);
    expect(kept.has('/usr/lib/python3.11/unused.py')).toBe(true);
    expect(kept.has('/usr/bin/perl')).toBe(false);
  });

  it('combines with other presets, --exclude and the paths that are not the image', async () => {
    const { kept, presets } = await closure([debian], light, { presets: ['app', 'certs'], exclude: ['/app/templates/**'], ignore: ['/data'] });
    expect(Object.keys(presets).sort()).toEqual(['app', 'certs']);
    expect(kept.has('/app/templates/report.html')).toBe(false);
    expect(kept.has('/data/volume-seed')).toBe(false);
    expect(kept.has('/app/reportlib.py')).toBe(true);
  });

  it("counts a package's file that a later layer rewrote as the app's (md5sums; a conffile by its layer), not one only chmod'ed", async () => {
    const base: Spec[] = [
      { path: 'etc/' },
      { path: 'etc/nginx/' },
      { path: 'etc/nginx/nginx.conf', body: 'default conf' },
      { path: 'usr/' },
      { path: 'usr/share/' },
      { path: 'usr/share/nginx/' },
      { path: 'usr/share/nginx/html/' },
      { path: 'usr/share/nginx/html/index.html', body: 'Welcome to nginx' },
      { path: 'usr/share/nginx/html/50x.html', body: 'error page' },
      { path: 'usr/share/nginx/html/unused.html', body: 'unused' },
      { path: 'var/' },
      { path: 'var/lib/' },
      { path: 'var/lib/dpkg/' },
      { path: 'var/lib/dpkg/info/' },
      { path: 'var/lib/dpkg/info/nginx.list', body: '/.\n/etc/nginx\n/etc/nginx/nginx.conf\n/usr/share/nginx/html\n/usr/share/nginx/html/index.html\n/usr/share/nginx/html/50x.html\n/usr/share/nginx/html/unused.html\n' },
      { path: 'var/lib/dpkg/info/nginx.md5sums', body: `${md5('Welcome to nginx')}  usr/share/nginx/html/index.html\n${md5('error page')}  usr/share/nginx/html/50x.html\n${md5('unused')}  usr/share/nginx/html/unused.html\n` },
      { path: 'var/lib/dpkg/info/nginx.conffiles', body: '/etc/nginx/nginx.conf\n' },
    ];
    const app: Spec[] = [
      { path: 'etc/nginx/nginx.conf', body: 'the app conf' },
      { path: 'usr/share/nginx/html/index.html', body: 'the app page' },
      { path: 'usr/share/nginx/html/50x.html', body: 'error page', mode: 0o600 },
    ];
    const { kept, why, index, spool } = await closure([base, app], []);
    expect(why('/usr/share/nginx/html/index.html')).toEqual(['keep:app']);
    expect(kept.has('/etc/nginx/nginx.conf')).toBe(true);
    expect(kept.has('/usr/share/nginx/html/50x.html')).toBe(false);
    expect(kept.has('/usr/share/nginx/html/unused.html')).toBe(false);
    const db = await readPackageDatabase(index, spool);
    const direct = await appEntries(index, spool, packagedPaths(index, db.files), db.installed, (p) => isIgnored(p, []));
    expect(direct.changed).toEqual(['/etc/nginx/nginx.conf', '/usr/share/nginx/html/index.html']);
  });
});

describe('--keep app on an apk image', () => {
  const alpine = (page: string): Spec[][] => [
    [
      { path: 'lib/' },
      { path: 'lib/ld-musl-x86_64.so.1', body: 'musl', mode: 0o755 },
      { path: 'lib/apk/' },
      { path: 'lib/apk/db/' },
      { path: 'lib/apk/db/installed', body: `C:Q1abc\nP:musl\nV:1.2.4\nF:lib\nR:ld-musl-x86_64.so.1\nZ:${'Q1' + sha1b64('musl')}\n\nP:busybox\nV:1.36\nF:bin\nR:busybox\nZ:${'Q1' + sha1b64('bb')}\nF:var/www\nR:index.html\nZ:${'Q1' + sha1b64('busybox page')}\nR:other.html\nZ:${'Q1' + sha1b64('other')}\n\n` },
      { path: 'lib/apk/db/scripts.tar', body: 'scripts' },
      { path: 'bin/' },
      { path: 'bin/busybox', body: 'bb', mode: 0o755 },
      { path: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' }, // made by busybox's trigger: no package lists it
      { path: 'etc/' },
      { path: 'etc/apk/' },
      { path: 'etc/apk/world', body: 'busybox\n' },
      { path: 'etc/apk/repositories', body: 'https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n' },
      { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
      { path: 'var/' },
      { path: 'var/cache/' },
      { path: 'var/cache/apk/' },
      { path: 'var/cache/apk/APKINDEX.tar.gz', body: 'index' },
      { path: 'var/lib/' },
      { path: 'var/lib/apk/' },
      { path: 'var/lib/apk/lock', body: '' },
      { path: 'var/www/' },
      { path: 'var/www/index.html', body: 'busybox page' },
      { path: 'var/www/other.html', body: 'other' },
    ],
    [
      { path: 'srv/' },
      { path: 'srv/app.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { path: 'var/www/index.html', body: page },
    ],
  ];

  it("keeps the unowned and the rewritten (by the database's sha1), not the packages' files, apk state or caches", async () => {
    const { kept, why } = await closure(alpine('the app page'), []);
    for (const p of ['/srv/app.sh', '/etc/passwd', '/bin/sh', '/var/www/index.html']) expect(kept.has(p), p).toBe(true);
    // /srv/app.sh's #! interpreter, and /bin/sh's target.
    expect(kept.has('/bin/busybox')).toBe(true);
    expect(why('/bin/busybox')).toContain('shebang:/srv/app.sh');
    for (const p of ['/lib/apk/db/installed', '/lib/apk/db/scripts.tar', '/etc/apk/world', '/etc/apk/repositories', '/var/cache/apk/APKINDEX.tar.gz', '/var/lib/apk/lock', '/var/www/other.html', '/lib/ld-musl-x86_64.so.1']) {
      expect(kept.has(p), p).toBe(false);
    }
    // The same bytes written again by a later layer are still the package's.
    const same = await closure(alpine('busybox page'), []);
    expect(same.kept.has('/var/www/index.html')).toBe(false);
  });
});

describe('--keep app without a package database', () => {
  it('keeps every file but the exclusions, and says why', async () => {
    const { kept, warnings } = await closure([[{ path: 'bin/' }, { path: 'bin/busybox', body: 'bb', mode: 0o755 }, { path: 'tmp/' }, { path: 'tmp/x', body: 'x' }]], []);
    expect(kept.has('/bin/busybox')).toBe(true);
    expect(kept.has('/tmp/x')).toBe(false);
    expect(warnings).toContain("--keep app: the image has no dpkg or apk database, so every file counts as the app's");
  });
});
