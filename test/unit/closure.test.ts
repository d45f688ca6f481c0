import { afterEach, describe, expect, it } from 'vitest';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import { computeClosure, type ClosurePolicy } from '../../src/closure/closure.js';
import type { AccessRecord } from '../../src/trace/record.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

// A merged-/usr Debian-like tree, made in the test.
const tree: Spec[] = [
  { path: 'usr/' },
  { path: 'usr/bin/' },
  { path: 'usr/bin/dash', body: '\x7fELF-not-really', mode: 0o755 },
  { path: 'usr/bin/sh', type: 'symlink', linkname: 'dash' },
  { path: 'usr/bin/python3', type: 'symlink', linkname: 'python3.11' },
  { path: 'usr/bin/python3.11', body: 'py', mode: 0o755 },
  { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { path: 'usr/lib/' },
  { path: 'usr/lib/python3.11/' },
  { path: 'usr/lib/python3.11/json/' },
  { path: 'usr/lib/python3.11/json/decoder.py', body: 'src' },
  { path: 'usr/lib/python3.11/json/__pycache__/' },
  { path: 'usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc', body: 'pyc' },
  { path: 'usr/lib/python3.11/unused.py', body: 'never' },
  { path: 'usr/lib/python3.11/os.py', body: 'landmark' },
  { path: 'app/' },
  { path: 'app/run.sh', body: '#!/bin/sh\nexec python3 /app/main.py\n', mode: 0o755 },
  { path: 'app/tool', body: '#!/usr/bin/env python3\n', mode: 0o755 },
  { path: 'app/main.py', body: 'print(1)' },
  { path: 'var/' },
  { path: 'var/lib/' },
  { path: 'var/lib/svc/', uid: 1001, gid: 1001, mode: 0o750 },
  { path: 'var/lib/svc/big-seed.db', body: 'x'.repeat(100), uid: 1001 },
  { path: 'etc/' },
  { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
  { path: 'etc/group', body: 'root:x:0:\n' },
  { path: 'etc/hosts', body: '127.0.0.1 image-copy\n' },
  { path: 'data/' },
  { path: 'data/from-volume', body: 'v' },
];

const rec = (path: string, op: AccessRecord['op'] = 'open', ok = true, via: AccessRecord['via'] = 'strace'): AccessRecord => ({ pid: 1, op, path, ok, via });

async function closure(records: AccessRecord[], policy: Partial<ClosurePolicy> = {}) {
  const r = await readLayers([await mkLayer(tree)]);
  cleanups.push(r.cleanup);
  const res = await computeClosure(r.index, records, { ignore: [], include: [], commands: [], config: { Env: ['PATH=/usr/bin:/bin'] }, ...policy }, r.spool);
  return { ...res, kept: res.selection.paths().sort(), why: (p: string) => res.selection.why(p).map((x) => x.why) };
}

describe('closure', () => {
  it('keeps every symlink on the way and every parent, with nothing else', async () => {
    const { kept, why } = await closure([rec('/bin/sh', 'exec')]);
    expect(kept).toEqual(['/bin', '/usr', '/usr/bin', '/usr/bin/dash', '/usr/bin/sh']);
    expect(why('/bin')).toEqual(['symlink']);
    expect(why('/usr/bin/dash')[0]).toBe('traced');
    expect(why('/usr')).toEqual(['parent']);
  });

  it('keeps the directory an app created files in, not what it created (it is not in the image)', async () => {
    const { kept, why } = await closure([rec('/var/lib/svc/state.db', 'create'), rec('/var/lib/svc/app.pid', 'create')]);
    expect(kept).toContain('/var/lib/svc');
    expect(why('/var/lib/svc')).toEqual(['created-in']);
    expect(kept).not.toContain('/var/lib/svc/big-seed.db');
  });

  it('keeps the .py beside a .pyc, which fanotify never sees', async () => {
    const { kept, why } = await closure([rec('/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc', 'open', true, 'fanotify')]);
    expect(kept).toContain('/usr/lib/python3.11/json/decoder.py');
    expect(why('/usr/lib/python3.11/json/decoder.py')).toEqual(['pyc-source']);
    // The landmark Python stats to find its prefix, which a trace of opens alone never shows.
    expect(kept).toContain('/usr/lib/python3.11/os.py');
    expect(kept).not.toContain('/usr/lib/python3.11/unused.py');
  });

  it('follows shebangs, env lookups in PATH and the commands the runtime starts', async () => {
    const { kept, why } = await closure([rec('/app/run.sh', 'exec'), rec('/app/tool', 'exec')], { commands: [['/app/run.sh'], ['sh', '-c', 'true']] });
    expect(kept).toEqual(expect.arrayContaining(['/bin', '/usr/bin/sh', '/usr/bin/dash', '/usr/bin/python3', '/usr/bin/python3.11']));
    expect(why('/usr/bin/sh')).toEqual(['symlink']);
    expect(why('/usr/bin/dash')).toContain('shebang');
    expect(why('/usr/bin/python3.11')).toContain('shebang');
  });

  it('never keeps paths that are not the image\'s own at run time', async () => {
    const { kept } = await closure([rec('/etc/hosts'), rec('/proc/self/maps'), rec('/data/from-volume'), rec('/.slim-probe/strace', 'exec')], { ignore: ['/data', '/.slim-probe'] });
    expect(kept).toEqual([]);
  });

  it('keeps the user database when the image names a user, and includes whole trees on request', async () => {
    const { kept, why } = await closure([], { config: { User: 'root', Env: [] }, include: ['/usr/lib/python3.11/json'] });
    expect(kept).toEqual(expect.arrayContaining(['/etc/passwd', '/etc/group', '/usr/lib/python3.11/json/decoder.py', '/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc']));
    expect(why('/etc/passwd')).toEqual(['user']);
    expect(kept).not.toContain('/usr/lib/python3.11/unused.py');
  });

  it('says when an included path is not in the image', async () => {
    const { warnings } = await closure([], { include: ['/nope'] });
    expect(warnings).toEqual(['--include /nope is not in the image']);
  });
});

describe('self-repair and the removed-weight summary', () => {
  it('missingPaths: what the original has and the slim selection lacks, symlinks on the way included', async () => {
    const { missingPaths } = await import('../../src/closure/repair.js');
    const r = await readLayers([await mkLayer(tree)]);
    cleanups.push(r.cleanup);
    const kept = new Set(['/', '/usr', '/usr/bin', '/usr/bin/dash', '/usr/lib', '/usr/lib/python3.11', '/usr/lib/python3.11/json', '/usr/lib/python3.11/json/decoder.py']);
    const found = missingPaths(r.index, [
      rec('/usr/lib/python3.11/unused.py', 'stat', false), // ENOENT in the slim image, there in the original
      rec('/bin/sh', 'exec', false), // a failed exec through /bin -> usr/bin, sh -> dash: the links are missing
      rec('/usr/bin/dash'), // kept already
      rec('/nowhere/at/all', 'open', false), // not in the original either
      rec('/proc/self/maps'), // never the image's
      rec('/data/from-volume'), // under a user volume
      rec('relative', 'open', false),
    ], kept, ['/data']);
    expect(found).toEqual(['/bin/sh', '/usr/lib/python3.11/unused.py']);
  });

  it('repair paths join the closure with their own reason', async () => {
    const { selection } = await closure([], { repairs: ['/bin/sh'] });
    expect(selection.why('/usr/bin/dash')[0]).toEqual({ why: 'repair' });
    expect(selection.why('/bin')[0]).toEqual({ why: 'symlink', from: '/bin/sh' });
  });

  it('largestRemoved: bytes by directory, a hard-linked file counted once, kept files excluded', async () => {
    const { largestRemoved } = await import('../../src/report/removed.js');
    const r = await readLayers([await mkLayer([
      { path: 'usr/' }, { path: 'usr/share/' }, { path: 'usr/share/doc/' }, { path: 'usr/share/doc/a/' },
      { path: 'usr/share/doc/a/README', body: 'x'.repeat(300) },
      { path: 'usr/share/doc/a/deep/' }, { path: 'usr/share/doc/a/deep/more', body: 'x'.repeat(200) },
      { path: 'usr/share/doc/copy', type: 'link', linkname: 'usr/share/doc/a/README' },
      { path: 'usr/bin/' }, { path: 'usr/bin/tool', body: 'y'.repeat(100) }, { path: 'usr/bin/kept', body: 'k'.repeat(1000) },
      { path: 'top', body: 'z'.repeat(50) },
    ])]);
    cleanups.push(r.cleanup);
    const dirs = largestRemoved(r.index, new Set(['/usr/bin/kept']), { depth: 3 });
    expect(dirs).toEqual([
      { path: '/usr/share/doc', bytes: 500, files: 2 },
      { path: '/usr/bin', bytes: 100, files: 1 },
      { path: '/', bytes: 50, files: 1 },
    ]);
  });
});

describe('what the user asks to keep or leave out', () => {
  const extra: Spec[] = [
    { path: 'usr/share/' },
    { path: 'usr/share/zoneinfo/' },
    { path: 'usr/share/zoneinfo/Europe/' },
    { path: 'usr/share/zoneinfo/Europe/Paris', body: 'TZif' },
    { path: 'usr/share/zoneinfo/UTC', body: 'TZif0' },
    { path: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/Europe/Paris' },
    { path: 'usr/share/doc/' },
    { path: 'usr/share/doc/python3/' },
    { path: 'usr/share/doc/python3/copyright', body: 'c' },
    { path: 'var/lib/dpkg/' },
    { path: 'var/lib/dpkg/info/' },
    // dpkg lists paths as the package shipped them: /bin/dash is /usr/bin/dash on merged /usr.
    { path: 'var/lib/dpkg/info/dash.list', body: '/.\n/bin\n/bin/dash\n/usr/share/doc/dash-missing\n' },
    { path: 'var/lib/dpkg/info/python3.11-minimal:amd64.list', body: '/usr/bin/python3.11\n/usr/lib/python3.11/os.py\n/usr/lib/python3.11/unused.py\n/usr/share/doc/python3/copyright\n' },
    { path: 'var/lib/dpkg/info/python3.11-minimal:amd64.md5sums', body: 'x' },
  ];
  async function closureOf(records: AccessRecord[], policy: Partial<ClosurePolicy>) {
    const r = await readLayers([await mkLayer([...tree, ...extra])]);
    cleanups.push(r.cleanup);
    return computeClosure(r.index, records, { ignore: [], include: [], commands: [], config: { Env: ['PATH=/usr/bin:/bin'] }, ...policy }, r.spool);
  }

  it('--include takes globs; a matched directory brings what is below it', async () => {
    const { selection, warnings } = await closureOf([], { include: ['/usr/share/zoneinfo/Eu*', '/usr/lib/**/*.pyc', '/nothing/*'] });
    expect(selection.has('/usr/share/zoneinfo/Europe/Paris')).toBe(true);
    expect(selection.has('/usr/share/zoneinfo/UTC')).toBe(false);
    expect(selection.has('/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc')).toBe(true);
    expect(warnings).toEqual(['--include /nothing/* matches nothing in the image']);
  });

  it('--include-bin finds a program in PATH and keeps it with its interpreter', async () => {
    const { selection, warnings } = await closureOf([], { includeBin: ['tool', 'sh', 'nope'], config: { Env: ['PATH=/app:/usr/bin'], WorkingDir: '/' } });
    expect(selection.why('/app/tool')[0]).toEqual({ why: 'include', from: '--include-bin tool' });
    expect(selection.has('/usr/bin/python3.11')).toBe(true); // tool's #!/usr/bin/env python3
    expect(selection.has('/usr/bin/dash')).toBe(true);
    expect(warnings).toEqual(['--include-bin nope is not a program in the image (looked in PATH)']);
  });

  it('--keep presets add their files with the preset named, and say when they match nothing', async () => {
    const { selection, presets, warnings } = await closureOf([], { presets: ['tz', 'certs'] });
    expect(selection.why('/usr/share/zoneinfo/UTC')[0]).toEqual({ why: 'keep', from: 'tz' });
    expect(selection.has('/etc/localtime')).toBe(true);
    expect(presets.tz).toBe(5); // zoneinfo, Europe, Paris, UTC and /etc/localtime
    expect(warnings).toEqual(['--keep certs: the image has none of these files']);
  });

  it('--exclude keeps matches out, but not the directories something kept lives in', async () => {
    const { selection, excluded } = await closureOf([rec('/usr/share/doc/python3/copyright'), rec('/usr/share/zoneinfo/UTC')], { exclude: ['/usr/share/doc/**'] });
    expect(selection.has('/usr/share/doc/python3/copyright')).toBe(false);
    expect(selection.has('/usr/share/zoneinfo/UTC')).toBe(true);
    expect(excluded).toBeGreaterThan(0);
  });

  it('--keep-packages keeps each package that owns a kept file whole, through merged /usr', async () => {
    const { selection, packages } = await closureOf([rec('/usr/bin/python3.11', 'exec'), rec('/bin/sh', 'exec')], { keepPackages: true });
    expect(packages).toEqual(['dash', 'python3.11-minimal']);
    expect(selection.why('/usr/lib/python3.11/unused.py')[0]).toEqual({ why: 'package', from: 'python3.11-minimal' });
    expect(selection.has('/usr/share/doc/python3/copyright')).toBe(true);
    // Without the option, the untraced file stays out.
    const plain = await closureOf([rec('/usr/bin/python3.11', 'exec')], {});
    expect(plain.selection.has('/usr/lib/python3.11/unused.py')).toBe(false);
    expect(plain.packages).toEqual([]);
  });
});
