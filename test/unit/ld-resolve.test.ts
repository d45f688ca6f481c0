import { describe, expect, it } from 'vitest';
import { resolveNeeded, type LdResolveContext, type Requester } from '../../src/closure/ld-resolve.js';
import type { LdSoCacheEntry } from '../../src/closure/ld-so-cache.js';

const WANT = 'libwant.so.1';

/** An image made of paths that are a compatible ELF ('ok') or an ELF of another class/machine. Records every lookup. */
function mkCtx(files: Record<string, 'ok' | 'incompatible'>, over: Partial<LdResolveContext> = {}) {
  const calls: string[] = [];
  const ctx: LdResolveContext = {
    candidate: async (p) => {
      calls.push(p);
      const f = files[p];
      return f === 'ok' ? { ok: true } : { ok: false, reason: f === 'incompatible' ? 'incompatible' : 'missing' };
    },
    cache: [],
    ldLibraryPath: [],
    platform: { class: 64, machine: 62, lib: 'lib64', platform: 'x86_64' },
    flavour: 'glibc',
    ...over,
  };
  return { ctx, calls };
}

const entry = (soname: string, path: string, flags = 0x0303): LdSoCacheEntry => ({ soname, path, flags, is64: flags === 0x0303 });

// The executable, and the library that first needed the requester: loaders[0] is the executable.
const EXE: Requester = { path: '/app/bin/prog', rpath: ['$ORIGIN/../lib'], runpath: [] };
const MID: Requester = { path: '/opt/mid/libmid.so', rpath: ['/mid/rp'], runpath: [] };
const LOADERS = [EXE, MID];
const REQ: Requester = { path: '/app/lib/libA.so', rpath: ['/r/own', '$ORIGIN/sub'], runpath: [] };
const REQ_RUNPATH: Requester = { ...REQ, runpath: ['/rp/$PLATFORM'] };
const CACHE = [entry(WANT, '/lib/i386-linux-gnu/' + WANT, 0x0003), entry(WANT, '/cache/' + WANT)];
const LLP = ['/llp1', '/llp2;/llp3'];
const GLIBC_DEFAULTS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
const at = (dirs: string[]) => dirs.map((d) => `${d}/${WANT}`);

describe('glibc search order', () => {
  it('without DT_RUNPATH: own RPATH, loaders\' RPATH up the chain, LD_LIBRARY_PATH, cache, default dirs', async () => {
    const { ctx, calls } = mkCtx({}, { cache: CACHE, ldLibraryPath: LLP });
    expect(await resolveNeeded(WANT, REQ, LOADERS, ctx)).toBeUndefined();
    expect(calls).toEqual(at(['/r/own', '/app/lib/sub', '/mid/rp', '/app/bin/../lib', '/llp1', '/llp2', '/llp3', '/cache', ...GLIBC_DEFAULTS]));
  });

  it('with DT_RUNPATH: no RPATH at all (neither own nor the loaders\'), then LD_LIBRARY_PATH, own RUNPATH, cache, default', async () => {
    const { ctx, calls } = mkCtx({}, { cache: CACHE, ldLibraryPath: LLP });
    expect(await resolveNeeded(WANT, REQ_RUNPATH, LOADERS, ctx)).toBeUndefined();
    expect(calls).toEqual(at(['/llp1', '/llp2', '/llp3', '/rp/x86_64', '/cache', ...GLIBC_DEFAULTS]));
  });

  it.each([
    ['own RPATH', REQ, ['/r/own/' + WANT], { path: '/r/own/' + WANT, via: 'rpath' }],
    ['own RPATH with $ORIGIN', REQ, ['/app/lib/sub/' + WANT], { path: '/app/lib/sub/' + WANT, via: 'rpath' }],
    ['the loader\'s RPATH', REQ, ['/mid/rp/' + WANT], { path: '/mid/rp/' + WANT, via: 'rpath' }],
    ['the executable\'s RPATH, $ORIGIN its own dir', REQ, ['/app/bin/../lib/' + WANT], { path: '/app/bin/../lib/' + WANT, via: 'rpath' }],
    ['the nearest loader before the executable', REQ, ['/mid/rp/' + WANT, '/app/bin/../lib/' + WANT], { path: '/mid/rp/' + WANT, via: 'rpath' }],
    ['RPATH before LD_LIBRARY_PATH', REQ, ['/app/bin/../lib/' + WANT, '/llp1/' + WANT], { path: '/app/bin/../lib/' + WANT, via: 'rpath' }],
    ['LD_LIBRARY_PATH (split on ; too)', REQ, ['/llp3/' + WANT, '/cache/' + WANT], { path: '/llp3/' + WANT, via: 'ld_library_path' }],
    ['LD_LIBRARY_PATH before RUNPATH', REQ_RUNPATH, ['/llp1/' + WANT, '/rp/x86_64/' + WANT], { path: '/llp1/' + WANT, via: 'ld_library_path' }],
    ['RUNPATH before the cache', REQ_RUNPATH, ['/rp/x86_64/' + WANT, '/cache/' + WANT], { path: '/rp/x86_64/' + WANT, via: 'runpath' }],
    ['RUNPATH hides RPATH', REQ_RUNPATH, ['/r/own/' + WANT, '/mid/rp/' + WANT], undefined],
    ['the cache before the default dirs', REQ, ['/cache/' + WANT, '/lib/x86_64-linux-gnu/' + WANT], { path: '/cache/' + WANT, via: 'cache' }],
    ['a default dir', REQ, ['/usr/lib/' + WANT], { path: '/usr/lib/' + WANT, via: 'default' }],
    ['multiarch before /lib64 and /lib', REQ, ['/usr/lib/x86_64-linux-gnu/' + WANT, '/lib64/' + WANT, '/lib/' + WANT], { path: '/usr/lib/x86_64-linux-gnu/' + WANT, via: 'default' }],
  ] as const)('finds it in %s', async (_name, req, present, expected) => {
    const { ctx } = mkCtx(Object.fromEntries(present.map((p) => [p, 'ok'])), { cache: CACHE, ldLibraryPath: LLP });
    expect(await resolveNeeded(WANT, req, LOADERS, ctx)).toEqual(expected);
  });

  it('a loader with DT_RUNPATH contributes no DT_RPATH, and a loader\'s DT_RUNPATH is not inherited', async () => {
    const mid: Requester = { path: '/opt/mid/libmid.so', rpath: ['/mid/rp'], runpath: ['/mid/run'] };
    const { ctx, calls } = mkCtx({ ['/mid/rp/' + WANT]: 'ok', ['/mid/run/' + WANT]: 'ok' });
    expect(await resolveNeeded(WANT, { path: '/app/lib/libA.so', rpath: [], runpath: [] }, [EXE, mid], ctx)).toBeUndefined();
    expect(calls).toEqual(at(['/app/bin/../lib', ...GLIBC_DEFAULTS]));
  });

  it('the executable\'s own DT_NEEDED: its RPATH, no loaders', async () => {
    const { ctx } = mkCtx({ ['/app/bin/../lib/' + WANT]: 'ok' });
    expect(await resolveNeeded(WANT, EXE, [], ctx)).toEqual({ path: '/app/bin/../lib/' + WANT, via: 'rpath' });
  });

  it('an empty DT_RUNPATH still hides DT_RPATH and searches nothing itself', async () => {
    const { ctx, calls } = mkCtx({ ['/r/own/' + WANT]: 'ok', ['/' + WANT]: 'ok' });
    expect(await resolveNeeded(WANT, { ...REQ, runpath: [''] }, [], ctx)).toBeUndefined();
    expect(calls).toEqual(at(GLIBC_DEFAULTS));
  });

  it('skips incompatible candidates and keeps searching, the cache\'s too', async () => {
    const { ctx, calls } = mkCtx(
      { ['/r/own/' + WANT]: 'incompatible', ['/llp1/' + WANT]: 'incompatible', ['/cache/' + WANT]: 'incompatible', ['/lib64/' + WANT]: 'incompatible', ['/usr/lib64/' + WANT]: 'ok' },
      { cache: CACHE, ldLibraryPath: LLP },
    );
    expect(await resolveNeeded(WANT, REQ, [], ctx)).toEqual({ path: '/usr/lib64/' + WANT, via: 'default' });
    expect(calls).toContain('/cache/' + WANT);
  });

  it('uses only cache entries of the requester\'s class and machine', async () => {
    const i386 = '/lib/i386-linux-gnu/' + WANT;
    const cache = [entry(WANT, i386, 0x0003)];
    const a = mkCtx({ [i386]: 'ok' }, { cache });
    expect(await resolveNeeded(WANT, REQ, [], a.ctx)).toBeUndefined();
    expect(a.calls).not.toContain(i386);
    const b = mkCtx({ [i386]: 'ok' }, { cache, platform: { class: 32, machine: 3, lib: 'lib', platform: 'i686' } });
    expect(await resolveNeeded(WANT, REQ, [], b.ctx)).toEqual({ path: i386, via: 'cache' });
  });

  it('tries each path once even when several sources name it', async () => {
    const { ctx, calls } = mkCtx({}, { ldLibraryPath: ['/lib/x86_64-linux-gnu', '/usr/lib/'] });
    await resolveNeeded(WANT, { path: '/a/b', rpath: ['/usr/lib//', '/usr/lib64/.'], runpath: [] }, [], ctx);
    expect(calls).toEqual(at(['/usr/lib', '/usr/lib64', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/lib']));
  });
});

describe('glibc dynamic string tokens and odd path elements', () => {
  const platform = { class: 64, machine: 62, lib: 'lib64', platform: 'x86_64' } as const;
  it.each([
    ['$ORIGIN/x', '/app/lib/x'],
    ['${ORIGIN}/x', '/app/lib/x'],
    ['$ORIGIN', '/app/lib'],
    ['$ORIGIN-x', '/app/lib-x'], // a DST ends at a character that cannot continue a name (LD_DEBUG on Debian 12)
    ['${ORIGIN}_w', '/app/lib_w'],
    ['/p/$ORIGINX', '/p/$ORIGINX'], // not a DST: literal
    ['/p/$ORIGIN_z', '/p/$ORIGIN_z'],
    ['/x/$LIB', '/x/lib64'],
    ['/x/${LIB}/y', '/x/lib64/y'],
    ['/y/$PLATFORM', '/y/x86_64'],
    ['/y/${PLATFORM}', '/y/x86_64'],
    ['/v/$FOO', '/v/$FOO'], // unknown: literal
    ['$ORIGIN/../$LIB/$PLATFORM', '/app/lib/../lib64/x86_64'],
    ['rel/dir', '/rel/dir'], // relative to the working directory, taken as '/'
    ['', ''], // an empty element is the working directory
  ])('RPATH element %j is searched as %j', async (element, dir) => {
    const { ctx, calls } = mkCtx({}, { platform });
    await resolveNeeded(WANT, { path: '/app/lib/libA.so', rpath: [element, '/next'], runpath: [] }, [], ctx);
    expect(calls.slice(0, 2)).toEqual([`${dir}/${WANT}`, `/next/${WANT}`]);
  });

  it('an empty DT_RPATH as a whole is ignored (not the working directory)', async () => {
    const { ctx, calls } = mkCtx({ ['/' + WANT]: 'ok' });
    expect(await resolveNeeded(WANT, { path: '/app/lib/libA.so', rpath: [''], runpath: [] }, [], ctx)).toBeUndefined();
    expect(calls).toEqual(at(GLIBC_DEFAULTS));
  });

  it('$LIB is whatever the context says (Debian\'s glibc: the multiarch dir)', async () => {
    const { ctx, calls } = mkCtx({}, { platform: { ...platform, lib: 'lib/x86_64-linux-gnu' } });
    await resolveNeeded(WANT, { path: '/app/libA.so', rpath: [], runpath: ['/opt/$LIB'] }, [], ctx);
    expect(calls[0]).toBe('/opt/lib/x86_64-linux-gnu/' + WANT);
  });

  it('$ORIGIN in RUNPATH is the requester\'s dir; in LD_LIBRARY_PATH the executable\'s', async () => {
    const { ctx, calls } = mkCtx({}, { ldLibraryPath: ['$ORIGIN/llp'] });
    await resolveNeeded(WANT, { path: '/opt/mid/libB.so', rpath: [], runpath: ['$ORIGIN/run'] }, [EXE], ctx);
    // (The requester has DT_RUNPATH, so the executable's RPATH is not searched.)
    expect(calls.slice(0, 2)).toEqual(at(['/app/bin/llp', '/opt/mid/run']));
  });
});

describe('names containing a slash', () => {
  it.each([
    ['an absolute path', '/opt/x/libx.so', '/opt/x/libx.so'],
    ['a relative path, against /', 'sub/libx.so', '/sub/libx.so'],
    ['$ORIGIN, against the requester', '$ORIGIN/plugins/libx.so', '/app/lib/plugins/libx.so'],
  ])('%s is used as is, without searching', async (_name, soname, path) => {
    const found = mkCtx({ [path]: 'ok' }, { ldLibraryPath: ['/llp'] });
    expect(await resolveNeeded(soname, { ...REQ, runpath: ['/rp'] }, LOADERS, found.ctx)).toEqual({ path, via: 'direct' });
    const missing = mkCtx({ ['/llp/libx.so']: 'ok', ['/r/own/libx.so']: 'ok' }, { ldLibraryPath: ['/llp'] });
    expect(await resolveNeeded(soname, REQ, LOADERS, missing.ctx)).toBeUndefined();
    expect(missing.calls).toEqual([path]);
  });

  it('an incompatible file there is a failure', async () => {
    const { ctx } = mkCtx({ '/opt/libx.so': 'incompatible' });
    expect(await resolveNeeded('/opt/libx.so', REQ, [], ctx)).toBeUndefined();
  });
});

describe('glibc default directories', () => {
  it.each([
    ['x86-64', { class: 64, machine: 62 }, GLIBC_DEFAULTS],
    ['i386', { class: 32, machine: 3 }, ['/lib/i386-linux-gnu', '/usr/lib/i386-linux-gnu', '/lib', '/usr/lib']],
    ['aarch64', { class: 64, machine: 183 }, ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib']],
    ['an unknown 64-bit machine', { class: 64, machine: 4242 }, ['/lib64', '/usr/lib64', '/lib', '/usr/lib']],
  ] as const)('%s', async (_name, p, dirs) => {
    const { ctx, calls } = mkCtx({}, { platform: { ...p, lib: p.class === 64 ? 'lib64' : 'lib', platform: 'x' } });
    await resolveNeeded(WANT, { path: '/a', rpath: [], runpath: [] }, [], ctx);
    expect(calls).toEqual(at([...dirs]));
  });
});

describe('musl', () => {
  const musl = (files: Record<string, 'ok' | 'incompatible'>, over: Partial<LdResolveContext> = {}) => mkCtx(files, { flavour: 'musl', cache: CACHE, ldLibraryPath: LLP, ...over });

  it('order: LD_LIBRARY_PATH, then RUNPATH-or-RPATH up the chain (even with RUNPATH), then the default path; no cache', async () => {
    const { ctx, calls } = musl({});
    expect(await resolveNeeded(WANT, REQ_RUNPATH, LOADERS, ctx)).toBeUndefined();
    // '/llp2;/llp3' is one directory for musl; $PLATFORM is not a token it knows, so REQ's path is dropped.
    expect(calls).toEqual(at(['/llp1', '/llp2;/llp3', '/mid/rp', '/app/bin/../lib', '/lib', '/usr/local/lib', '/usr/lib']));
  });

  it.each([
    ['LD_LIBRARY_PATH before RPATH', REQ, ['/llp1/' + WANT, '/r/own/' + WANT], { path: '/llp1/' + WANT, via: 'ld_library_path' }],
    ['own RPATH with $ORIGIN', REQ, ['/app/lib/sub/' + WANT], { path: '/app/lib/sub/' + WANT, via: 'rpath' }],
    ['a loader\'s RPATH', REQ, ['/mid/rp/' + WANT], { path: '/mid/rp/' + WANT, via: 'rpath' }],
    ['the default path', REQ, ['/usr/local/lib/' + WANT], { path: '/usr/local/lib/' + WANT, via: 'default' }],
    ['never the cache', REQ, ['/cache/' + WANT], undefined],
  ] as const)('%s', async (_name, req, present, expected) => {
    const { ctx } = musl(Object.fromEntries(present.map((p) => [p, 'ok'])));
    expect(await resolveNeeded(WANT, req, LOADERS, ctx)).toEqual(expected);
  });

  it('DT_RUNPATH replaces DT_RPATH of the same object, and a loader\'s RUNPATH is inherited', async () => {
    const mid: Requester = { path: '/opt/mid/libmid.so', rpath: ['/mid/rp'], runpath: ['$ORIGIN/run'] };
    const { ctx, calls } = musl({ ['/opt/mid/run/' + WANT]: 'ok' }, { ldLibraryPath: [] });
    expect(await resolveNeeded(WANT, { path: '/app/lib/libA.so', rpath: ['/own/rp'], runpath: ['/own/run'] }, [EXE, mid], ctx)).toEqual({ path: '/opt/mid/run/' + WANT, via: 'runpath' });
    expect(calls).toEqual(at(['/own/run', '/opt/mid/run']));
  });

  it('expands only $ORIGIN (prefix match, as musl does); any other $ drops that object\'s whole path', async () => {
    const { ctx, calls } = musl({}, { ldLibraryPath: ['$ORIGIN/llp'] });
    await resolveNeeded(WANT, { path: '/app/lib/libA.so', rpath: ['/ok/dir', '/x/$LIB'], runpath: [] }, [{ path: '/e/prog', rpath: ['$ORIGINX', '${ORIGIN}/y'], runpath: [] }], ctx);
    // LD_LIBRARY_PATH is not expanded; the requester's path is dropped for its $LIB; the executable's is expanded.
    expect(calls).toEqual(at(['/$ORIGIN/llp', '/eX', '/e/y', '/lib', '/usr/local/lib', '/usr/lib']));
  });

  it.each([
    ['the path file replaces the default', ['/etc-path/a', '', '/etc-path/b'], ['/etc-path/a', '/etc-path/b']],
    ['an empty path file means no default at all', [], []],
  ])('%s', async (_name, muslPath, dirs) => {
    const { ctx, calls } = musl({}, { ldLibraryPath: [], muslPath });
    expect(await resolveNeeded(WANT, { path: '/a/b', rpath: [], runpath: [] }, [], ctx)).toBeUndefined();
    expect(calls).toEqual(at(dirs));
  });

  it('the first existing file is the one: an incompatible one ends the search in failure', async () => {
    const { ctx, calls } = musl({ ['/llp1/' + WANT]: 'incompatible', ['/r/own/' + WANT]: 'ok' });
    expect(await resolveNeeded(WANT, REQ, [], ctx)).toBeUndefined();
    expect(calls).toEqual(at(['/llp1']));
  });

  it('names with a slash: no token expansion', async () => {
    const { ctx, calls } = musl({ '/app/lib/libx.so': 'ok' });
    expect(await resolveNeeded('$ORIGIN/libx.so', REQ, [], ctx)).toBeUndefined();
    expect(calls).toEqual(['/$ORIGIN/libx.so']);
  });
});
