import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { acceptedCacheFlags, lookupCache, parseLdSoCache, type LdSoCacheEntry } from '../../src/closure/ld-so-cache.js';

interface Spec {
  soname: string;
  path: string;
  flags: number;
  hwcap?: bigint;
}

/**
 * Cache bytes as ldconfig lays them out (glibc elf/cache.c save_cache):
 *  'new'    header(48) entries(24 each) strings; offsets from the new header
 *  'compat' old header(16) old entries(12 each) pad-to-`align` then the new format; the old
 *           offsets count from the end of the old entries (the pad is "string[0]")
 *  'old'    old header, old entries, strings
 */
function makeCache(entries: Spec[], o: { layout?: 'new' | 'compat' | 'old'; le?: boolean; endianFlag?: number; align?: 4 | 8; nlibs?: number } = {}): Buffer {
  const layout = o.layout ?? 'new';
  const le = o.le ?? true;
  const u32 = (b: Buffer, at: number, v: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  const i32 = (b: Buffer, at: number, v: number) => (le ? b.writeInt32LE(v, at) : b.writeInt32BE(v, at));

  const strParts: Buffer[] = [];
  const strAt = new Map<string, number>();
  let strLen = 0;
  for (const s of entries.flatMap((e) => [e.soname, e.path])) {
    if (strAt.has(s)) continue;
    strAt.set(s, strLen);
    const b = Buffer.from(s + '\0', 'utf8');
    strParts.push(b);
    strLen += b.length;
  }
  const strings = Buffer.concat(strParts);

  const newSection = (): Buffer => {
    const head = Buffer.alloc(48);
    head.write('glibc-ld.so.cache1.1', 0, 'latin1');
    u32(head, 20, o.nlibs ?? entries.length);
    u32(head, 24, strings.length);
    head[28] = o.endianFlag ?? (le ? 2 : 3);
    const table = Buffer.alloc(24 * entries.length);
    const base = 48 + table.length;
    entries.forEach((e, i) => {
      i32(table, i * 24, e.flags);
      u32(table, i * 24 + 4, base + strAt.get(e.soname)!);
      u32(table, i * 24 + 8, base + strAt.get(e.path)!);
      const hw = e.hwcap ?? 0n;
      if (le) table.writeBigUInt64LE(hw, i * 24 + 16);
      else table.writeBigUInt64BE(hw, i * 24 + 16);
    });
    return Buffer.concat([head, table, strings]);
  };
  if (layout === 'new') return newSection();

  const oldHead = Buffer.alloc(16);
  oldHead.write('ld.so-1.7.0', 0, 'latin1');
  u32(oldHead, 12, o.nlibs ?? entries.length);
  const oldTable = Buffer.alloc(12 * entries.length);
  const oldEnd = 16 + oldTable.length;
  // Where string s lies, counted from the end of the old table.
  const oldRef = layout === 'old' ? (s: string) => strAt.get(s)! : (s: string) => alignUp(oldEnd, o.align ?? 8) - oldEnd + 48 + 24 * entries.length + strAt.get(s)!;
  entries.forEach((e, i) => {
    i32(oldTable, i * 12, e.flags);
    u32(oldTable, i * 12 + 4, oldRef(e.soname));
    u32(oldTable, i * 12 + 8, oldRef(e.path));
  });
  if (layout === 'old') return Buffer.concat([oldHead, oldTable, strings]);
  const pad = Buffer.alloc(alignUp(oldEnd, o.align ?? 8) - oldEnd);
  return Buffer.concat([oldHead, oldTable, pad, newSection()]);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

const SPECS: Spec[] = [
  { soname: 'libz.so.1', path: '/lib/x86_64-linux-gnu/libz.so.1', flags: 0x0303 },
  { soname: 'libz.so.1', path: '/lib/i386-linux-gnu/libz.so.1', flags: 0x0003 },
  { soname: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6', flags: 0x0303 },
  { soname: 'libx32.so', path: '/libx32/libx32.so', flags: 0x0803 },
  { soname: 'libarm.so', path: '/lib/aarch64-linux-gnu/libarm.so', flags: 0x0a03 },
];
const EXPECTED: LdSoCacheEntry[] = [
  { soname: 'libz.so.1', path: '/lib/x86_64-linux-gnu/libz.so.1', flags: 0x0303, is64: true },
  { soname: 'libz.so.1', path: '/lib/i386-linux-gnu/libz.so.1', flags: 0x0003, is64: false },
  { soname: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6', flags: 0x0303, is64: true },
  { soname: 'libx32.so', path: '/libx32/libx32.so', flags: 0x0803, is64: false },
  { soname: 'libarm.so', path: '/lib/aarch64-linux-gnu/libarm.so', flags: 0x0a03, is64: true },
];

describe('parseLdSoCache on caches built in the test', () => {
  it.each([
    ['new format, little-endian (Debian 12)', { layout: 'new' }],
    ['new format, big-endian', { layout: 'new', le: false }],
    ['new format, byte order unset (ldconfig < 2.33), little-endian', { layout: 'new', endianFlag: 0 }],
    ['new format, byte order unset, big-endian', { layout: 'new', le: false, endianFlag: 0 }],
    ['old + new (compat), 8-byte aligned', { layout: 'compat', align: 8 }],
    ['old + new (compat), 4-byte aligned (i386)', { layout: 'compat', align: 4 }],
    ['old + new (compat), big-endian', { layout: 'compat', le: false }],
    ['old format alone', { layout: 'old' }],
  ] as const)('%s', (_name, opts) => {
    expect(parseLdSoCache(makeCache(SPECS, opts))).toEqual(EXPECTED);
  });

  it.each([
    { align: 8, le: true },
    { align: 4, le: true },
    { align: 8, le: false },
  ] as const)('compat layout (align $align, le=$le): entries come from the new section, the one with hwcap', (o) => {
    const specs: Spec[] = [
      { soname: 'libm.so.6', path: '/lib/glibc-hwcaps/x86-64-v3/libm.so.6', flags: 0x0303, hwcap: (1n << 62n) | 1n },
      { soname: 'libm.so.6', path: '/lib/libm.so.6', flags: 0x0303 },
      { soname: 'libm.so.6', path: '/lib32/libm.so.6', flags: 0x0003 },
    ];
    // 3 entries: the old table ends at 16 + 36 = 52, so 4- and 8-byte alignment differ.
    expect(parseLdSoCache(makeCache(specs, { layout: 'compat', ...o }))).toEqual([
      { ...specs[0], is64: true },
      { ...specs[1], is64: true },
      { ...specs[2], is64: false },
    ]);
  });

  it('an empty cache has no entries', () => {
    expect(parseLdSoCache(makeCache([]))).toEqual([]);
    expect(parseLdSoCache(makeCache([], { layout: 'compat' }))).toEqual([]);
  });

  it.each([
    ['garbage', Buffer.from('this is not an ld.so.cache at all, no no no, nothing like it')],
    ['empty', Buffer.alloc(0)],
    ['a bare new magic', Buffer.from('glibc-ld.so.cache1.1')],
    ['a bare old magic', Buffer.from('ld.so-1.7.0')],
    ['a header whose entry count exceeds the file', makeCache(SPECS, { nlibs: 1000 })],
    ['a header with a huge entry count', makeCache(SPECS, { nlibs: 0xffffffff })],
    ['a cache marked invalid', makeCache(SPECS, { endianFlag: 1 })],
    ['an old table whose count exceeds the file', makeCache(SPECS, { layout: 'old', nlibs: 0x10000 })],
  ])('%s gives [] (ld.so ignores such a cache)', (_name, buf) => {
    expect(parseLdSoCache(buf)).toEqual([]);
  });

  it('skips entries whose strings lie outside the file, keeps the others', () => {
    const buf = makeCache(SPECS);
    buf.writeUInt32LE(0x7fffffff, 48 + 24 * 1 + 8); // entry 1: path offset outside
    buf.writeUInt32LE(buf.length, 48 + 24 * 3 + 4); // entry 3: soname at end of file
    expect(parseLdSoCache(buf)).toEqual([EXPECTED[0], EXPECTED[2], EXPECTED[4]]);
  });

  it('skips an entry whose string is not NUL-terminated before the end of the file', () => {
    const specs: Spec[] = [{ soname: 'liba.so', path: '/a', flags: 0x0303 }];
    const buf = makeCache(specs);
    expect(parseLdSoCache(buf.subarray(0, buf.length - 1))).toEqual([]);
  });
});

describe('lookupCache', () => {
  const cache = parseLdSoCache(makeCache(SPECS));
  it.each([
    ['x86-64 takes the x86-64 entry', 'libz.so.1', { class: 64, machine: 62 }, '/lib/x86_64-linux-gnu/libz.so.1'],
    ['x86-64 is the default target', 'libz.so.1', undefined, '/lib/x86_64-linux-gnu/libz.so.1'],
    ['i386 takes the libc6 (32-bit) entry', 'libz.so.1', { class: 32, machine: 3 }, '/lib/i386-linux-gnu/libz.so.1'],
    ['x32 takes only x32 entries', 'libx32.so', { class: 32, machine: 62 }, '/libx32/libx32.so'],
    ['x86-64 does not take an x32 entry', 'libx32.so', { class: 64, machine: 62 }, undefined],
    ['aarch64 takes its entry', 'libarm.so', { class: 64, machine: 183 }, '/lib/aarch64-linux-gnu/libarm.so'],
    ['aarch64 does not take x86-64 entries', 'libc.so.6', { class: 64, machine: 183 }, undefined],
    ['the soname must match exactly', 'libz.so', { class: 64, machine: 62 }, undefined],
  ] as const)('%s', (_name, soname, target, expected) => {
    expect(target ? lookupCache(cache, soname, target) : lookupCache(cache, soname)).toBe(expected);
  });

  it('takes the first matching entry in file order', () => {
    const c = parseLdSoCache(
      makeCache([
        { soname: 'libq.so.1', path: '/lib/i386-linux-gnu/libq.so.1', flags: 0x0003 },
        { soname: 'libq.so.1', path: '/usr/local/lib/libq.so.1', flags: 0x0303 },
        { soname: 'libq.so.1', path: '/lib/x86_64-linux-gnu/libq.so.1', flags: 0x0303 },
      ]),
    );
    expect(lookupCache(c, 'libq.so.1')).toBe('/usr/local/lib/libq.so.1');
  });

  it('prefers a plain entry to a glibc-hwcaps one, but uses the hwcaps one if it is all there is', () => {
    const hw = (1n << 62n) | 2n;
    const c = parseLdSoCache(
      makeCache([
        { soname: 'libm.so.6', path: '/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libm.so.6', flags: 0x0303, hwcap: hw },
        { soname: 'libm.so.6', path: '/lib/x86_64-linux-gnu/libm.so.6', flags: 0x0303 },
        { soname: 'libv3.so', path: '/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv3.so', flags: 0x0303, hwcap: hw },
      ]),
    );
    expect(c[0]!.hwcap).toBe(hw);
    expect(c[1]).not.toHaveProperty('hwcap');
    expect(lookupCache(c, 'libm.so.6')).toBe('/lib/x86_64-linux-gnu/libm.so.6');
    expect(lookupCache(c, 'libv3.so')).toBe('/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv3.so');
  });

  it('follows each architecture\'s _dl_cache_check_flags (x86-64: only 0x0303; generic 32-bit: 1 or 3)', () => {
    const c = parseLdSoCache(makeCache([{ soname: 'libold.so', path: '/lib/libold.so', flags: 0x0001 }]));
    expect(lookupCache(c, 'libold.so', { class: 32, machine: 3 })).toBe('/lib/libold.so');
    expect(lookupCache(c, 'libold.so', { class: 64, machine: 62 })).toBeUndefined();
    expect(acceptedCacheFlags({ class: 64, machine: 62 })).toEqual([0x0303]);
    expect(acceptedCacheFlags({ class: 32, machine: 9999 })).toEqual([0x0001, 0x0003]);
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-check against ldconfig -p on this machine (any Debian: ldconfig is in libc-bin, essential).
// ---------------------------------------------------------------------------------------------
const NATIVE: Partial<Record<string, { target: { class: 32 | 64; machine: number }; tag: string }>> = {
  x64: { target: { class: 64, machine: 62 }, tag: 'libc6,x86-64' },
  arm64: { target: { class: 64, machine: 183 }, tag: 'libc6,AArch64' },
};
const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => existsSync(p));

describe('parseLdSoCache agrees with ldconfig -p on /etc/ld.so.cache', () => {
  if (!ldconfig || !existsSync('/etc/ld.so.cache')) throw new Error('this test needs ldconfig and /etc/ld.so.cache (Debian\'s libc-bin; run ldconfig once)');
  const entries = parseLdSoCache(readFileSync('/etc/ld.so.cache'));
  const out = execFileSync(ldconfig!, ['-p'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const lines = out.split('\n').filter((l) => l.startsWith('\t'));
  const listed = lines.map((l) => /^\t(\S+) \((.*?)\) => (.*)$/.exec(l)).map((m) => ({ soname: m![1]!, tag: m![2]!, path: m![3]! }));

  it('same entries, in the same order', () => {
    expect(entries.length).toBe(Number(/^(\d+) libs found/.exec(out)![1]));
    expect(entries.length).toBeGreaterThan(10);
    expect(entries.map((e) => [e.soname, e.path])).toEqual(listed.map((l) => [l.soname, l.path]));
  });

  it('same 64-bit marking', () => {
    // ldconfig's words for the architecture, for the kinds of entries a Debian cache holds.
    const known: Record<string, boolean> = { 'libc6': false, 'libc6,x86-64': true, 'libc6,x32': false, 'libc6,AArch64': true, 'libc6,hard-float': false, 'libc6,64bit': true };
    const checked = listed.flatMap((l, i) => (l.tag in known ? [[entries[i]!.is64, known[l.tag]]] : []));
    expect(checked.length).toBeGreaterThan(10);
    expect(checked.filter(([got, want]) => got !== want)).toEqual([]);
  });

  it('lookupCache gives libc.so.6 where ldconfig lists it for this architecture', () => {
    const native = NATIVE[process.arch];
    if (!native) throw new Error(`no ldconfig tag known for ${process.arch}: add it to NATIVE`);
    const expected = listed.find((l) => l.soname === 'libc.so.6' && l.tag.startsWith(native.tag) && !l.tag.includes('hwcap'))?.path;
    expect(expected).toMatch(/\/libc\.so\.6$/);
    expect(lookupCache(entries, 'libc.so.6', native.target)).toBe(expected);
  });
});
