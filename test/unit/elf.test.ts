import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { readElfInfo, ElfError, type ElfInfo } from '../../src/closure/elf.js';

// ---------------------------------------------------------------------------------------------
// A small ELF builder. Layout:
//   [ELF header][program headers][interp]  <- PT_LOAD #1: offset 0, vaddr 0x400000
//   [dynstr][dynamic]                      <- PT_LOAD #2: offset D, vaddr 0x800000 + D + 0x230
// The two segments have different vaddr-offset deltas, so DT_STRTAB can only be found through
// the PT_LOAD that contains it.
// ---------------------------------------------------------------------------------------------
interface ElfSpec {
  cls: 32 | 64;
  le: boolean;
  type?: number;
  machine?: number;
  interp?: string;
  needed?: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  /** Raw [tag, value] entries appended after the usual ones, before DT_NULL. */
  dynExtra?: [number, number][];
  /** Raw entries after DT_NULL (must be ignored). */
  afterNull?: [number, number][];
  noStrsz?: boolean;
  noDynamic?: boolean;
  /** 'garbage': e_shoff points at bytes that are no section header table. Default: stripped (none). */
  sections?: 'none' | 'garbage';
}

const LOAD1_VADDR = 0x400000;
const LOAD2_DELTA = 0x800000 + 0x230;

interface Built {
  buf: Buffer;
  at: { phoff: number; phentsize: number; ph: Record<'interp' | 'load1' | 'load2' | 'dynamic', number | undefined>; interp: number; strtab: number; strtabVaddr: number; dynamic: number; dynent: number };
  /** Writers in the ELF's byte order, for hostile patches. */
  w16(o: number, v: number): void;
  w32(o: number, v: number): void;
  /** A class-sized word (32 or 64 bits). */
  wA(o: number, v: number | bigint): void;
}

function buildElf(spec: ElfSpec): Built {
  const is64 = spec.cls === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const dynent = is64 ? 16 : 8;

  const strings: string[] = [...(spec.needed ?? []), ...(spec.rpath !== undefined ? [spec.rpath] : []), ...(spec.runpath !== undefined ? [spec.runpath] : []), ...(spec.soname !== undefined ? [spec.soname] : [])];
  const strOff = new Map<string, number>();
  const parts: Buffer[] = [Buffer.from([0])];
  let len = 1;
  for (const s of strings) {
    if (strOff.has(s)) continue;
    strOff.set(s, len);
    const b = Buffer.from(s + '\0', 'utf8');
    parts.push(b);
    len += b.length;
  }
  const strtab = Buffer.concat(parts);

  const interp = spec.interp !== undefined ? Buffer.from(spec.interp + '\0', 'utf8') : undefined;
  const kinds = [...(interp ? (['interp'] as const) : []), 'load1', 'load2', ...(spec.noDynamic ? [] : (['dynamic'] as const))] as const;
  const phoff = ehsize;
  const interpOff = phoff + kinds.length * phentsize;
  const load1End = interpOff + (interp?.length ?? 0);
  const strtabOff = align(load1End, 16);
  const dynOff = align(strtabOff + strtab.length, 8);
  const strtabVaddr = LOAD2_DELTA + strtabOff;

  const dyn: [number, number][] = [];
  for (const n of spec.needed ?? []) dyn.push([1, strOff.get(n)!]);
  if (spec.rpath !== undefined) dyn.push([15, strOff.get(spec.rpath)!]);
  if (spec.runpath !== undefined) dyn.push([29, strOff.get(spec.runpath)!]);
  if (spec.soname !== undefined) dyn.push([14, strOff.get(spec.soname)!]);
  dyn.push([5, strtabVaddr]);
  if (!spec.noStrsz) dyn.push([10, strtab.length]);
  dyn.push(...(spec.dynExtra ?? []), [0, 0], ...(spec.afterNull ?? []));
  const dynEnd = spec.noDynamic ? strtabOff + strtab.length : dynOff + dyn.length * dynent;
  const shoff = align(dynEnd, 8);
  const total = spec.sections === 'garbage' ? shoff + 128 : dynEnd;

  const buf = Buffer.alloc(total);
  const w16 = (o: number, v: number) => (spec.le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const w32 = (o: number, v: number) => (spec.le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  const wA = (o: number, v: number | bigint) => (is64 ? (spec.le ? buf.writeBigUInt64LE(BigInt(v), o) : buf.writeBigUInt64BE(BigInt(v), o)) : w32(o, Number(v)));

  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = is64 ? 2 : 1;
  buf[5] = spec.le ? 1 : 2;
  buf[6] = 1;
  w16(16, spec.type ?? 3);
  w16(18, spec.machine ?? 62);
  w32(20, 1);
  wA(is64 ? 0x20 : 0x1c, phoff);
  w16(is64 ? 0x34 : 0x28, ehsize);
  w16(is64 ? 0x36 : 0x2a, phentsize);
  w16(is64 ? 0x38 : 0x2c, kinds.length);
  if (spec.sections === 'garbage') {
    wA(is64 ? 0x28 : 0x20, shoff);
    w16(is64 ? 0x3a : 0x2e, is64 ? 64 : 40);
    w16(is64 ? 0x3c : 0x30, 7);
    w16(is64 ? 0x3e : 0x32, 5);
    buf.fill(0xa5, shoff);
  }

  const ph: Built['at']['ph'] = { interp: undefined, load1: undefined, load2: undefined, dynamic: undefined };
  const seg = (i: number, type: number, off: number, vaddr: number, size: number) => {
    const o = phoff + i * phentsize;
    w32(o, type);
    if (is64) {
      wA(o + 8, off);
      wA(o + 16, vaddr);
      wA(o + 24, vaddr);
      wA(o + 32, size);
      wA(o + 40, size);
    } else {
      w32(o + 4, off);
      w32(o + 8, vaddr);
      w32(o + 12, vaddr);
      w32(o + 16, size);
      w32(o + 20, size);
    }
  };
  kinds.forEach((k, i) => {
    ph[k] = phoff + i * phentsize;
    if (k === 'interp') seg(i, 3, interpOff, LOAD1_VADDR + interpOff, interp!.length);
    if (k === 'load1') seg(i, 1, 0, LOAD1_VADDR, load1End);
    if (k === 'load2') seg(i, 1, strtabOff, strtabVaddr, dynEnd - strtabOff);
    if (k === 'dynamic') seg(i, 2, dynOff, LOAD2_DELTA + dynOff, dyn.length * dynent);
  });
  interp?.copy(buf, interpOff);
  strtab.copy(buf, strtabOff);
  if (!spec.noDynamic) {
    dyn.forEach(([t, v], k) => {
      wA(dynOff + k * dynent, t);
      wA(dynOff + k * dynent + dynent / 2, v);
    });
  }
  return { buf, at: { phoff, phentsize, ph, interp: interpOff, strtab: strtabOff, strtabVaddr, dynamic: dynOff, dynent }, w16, w32, wA };
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** A reader over a buffer that records every read and fails the test on one outside [0, size). */
function reader(buf: Buffer, size = buf.length) {
  const reads: { offset: number; length: number }[] = [];
  const read = async (offset: number, length: number) => {
    reads.push({ offset, length });
    if (offset < 0 || length < 0 || offset + length > size) throw new Error(`test reader: read ${length} at ${offset} outside the ${size}-byte file`);
    if (length > 4 << 20) throw new Error(`test reader: ${length}-byte read`);
    const out = Buffer.alloc(length);
    buf.copy(out, 0, Math.min(offset, buf.length), Math.min(offset + length, buf.length));
    return out;
  };
  return { read, reads, bytes: () => reads.reduce((n, r) => n + r.length, 0) };
}

const parse = (b: Buffer) => readElfInfo(reader(b).read, b.length);

const FULL = { interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libz.so.1', 'libc.so.6', 'libm.so.6'], rpath: '$ORIGIN/../lib:/opt/x', runpath: '/r1:/r2', soname: 'libme.so.1' };

describe('readElfInfo on ELFs built in the test', () => {
  it.each([
    { cls: 64, le: true, machine: 62 },
    { cls: 64, le: false, machine: 22 },
    { cls: 32, le: true, machine: 3 },
    { cls: 32, le: false, machine: 8 },
  ] as const)('ELF$cls le=$le: interp, needed in order, rpath, runpath, soname', async ({ cls, le, machine }) => {
    const { buf } = buildElf({ cls, le, machine, ...FULL });
    expect(await parse(buf)).toEqual<ElfInfo>({
      class: cls,
      endian: le ? 'le' : 'be',
      machine,
      type: 'dyn',
      interp: '/lib64/ld-linux-x86-64.so.2',
      needed: ['libz.so.1', 'libc.so.6', 'libm.so.6'],
      rpath: ['$ORIGIN/../lib', '/opt/x'],
      runpath: ['/r1', '/r2'],
      soname: 'libme.so.1',
    });
  });

  it.each([
    [1, 'rel'],
    [2, 'exec'],
    [3, 'dyn'],
    [4, 'core'],
    [0, 'other'],
    [0xfe00, 'other'],
  ] as const)('e_type %i is %s', async (type, name) => {
    expect((await parse(buildElf({ cls: 64, le: true, type, needed: ['a.so'] }).buf))!.type).toBe(name);
  });

  it('an executable without PT_INTERP (static-pie style) still gives its DT_NEEDED', async () => {
    const info = await parse(buildElf({ cls: 64, le: true, type: 2, needed: ['libc.so.6'] }).buf);
    expect(info).toEqual({ class: 64, endian: 'le', machine: 62, type: 'exec', needed: ['libc.so.6'], rpath: [], runpath: [] });
    expect(info).not.toHaveProperty('interp');
  });

  it('a static executable (no PT_DYNAMIC) has no dependencies', async () => {
    const info = await parse(buildElf({ cls: 32, le: true, type: 2, noDynamic: true }).buf);
    expect(info).toEqual({ class: 32, endian: 'le', machine: 62, type: 'exec', needed: [], rpath: [], runpath: [] });
  });

  it('a relocatable object without program headers gives the header fields only', async () => {
    const { buf, w16 } = buildElf({ cls: 64, le: false, type: 1, needed: ['x.so'] });
    w16(0x38, 0); // e_phnum
    expect(await parse(buf)).toEqual({ class: 64, endian: 'be', machine: 62, type: 'rel', needed: [], rpath: [], runpath: [] });
  });

  it.each(['none', 'garbage'] as const)('section headers (%s) are never consulted', async (sections) => {
    const b = buildElf({ cls: 64, le: true, sections, ...FULL });
    const r = reader(b.buf);
    const info = await readElfInfo(r.read, b.buf.length);
    expect(info!.needed).toEqual(FULL.needed);
    expect(info!.soname).toBe('libme.so.1');
    if (sections === 'garbage') expect(r.reads.every((x) => x.offset + x.length <= b.buf.length - 128)).toBe(true);
  });

  it('finds DT_STRTAB through the PT_LOAD that holds it, not through a fixed base', async () => {
    // Swap the vaddr of the two PT_LOADs' deltas: the string table now maps nowhere.
    const b = buildElf({ cls: 64, le: true, needed: ['libc.so.6'] });
    b.wA(b.at.ph.load2! + 16, 0x10_0000_0000);
    await expect(parse(b.buf)).rejects.toThrow(/DT_STRTAB 0x[0-9a-f]+ is in no PT_LOAD/);
  });

  it('keeps empty path elements (ld.so reads them as the cwd) and an empty DT_RUNPATH as present', async () => {
    const info = await parse(buildElf({ cls: 64, le: true, needed: ['a.so'], rpath: '/a::/b:', runpath: '' }).buf);
    expect(info!.rpath).toEqual(['/a', '', '/b', '']);
    expect(info!.runpath).toEqual(['']);
  });

  it('keeps every DT_NEEDED (duplicates too) in order', async () => {
    expect((await parse(buildElf({ cls: 64, le: true, needed: ['a.so', 'b.so', 'a.so'] }).buf))!.needed).toEqual(['a.so', 'b.so', 'a.so']);
  });

  it('stops at DT_NULL and, like ld.so, keeps the last DT_RPATH and DT_SONAME', async () => {
    // strtab: "\0a.so\0b.so\0/first\0/second\0first.so\0"
    const second = 1 + 'a.so\0b.so\0'.length + '/first\0'.length;
    const b = buildElf({
      cls: 64,
      le: true,
      needed: ['a.so', 'b.so'],
      rpath: '/first',
      runpath: '/second',
      soname: 'first.so',
      dynExtra: [
        [15, second], // a second DT_RPATH -> "/second"
        [14, 1], // a second DT_SONAME -> "a.so"
      ],
      afterNull: [
        [1, 1], // DT_NEEDED "a.so" after DT_NULL: not part of the segment
        [15, 1],
      ],
    });
    expect(await parse(b.buf)).toMatchObject({ needed: ['a.so', 'b.so'], rpath: ['/second'], runpath: ['/second'], soname: 'a.so' });
  });

  it('works without DT_STRSZ, bounded by the segment', async () => {
    const info = await parse(buildElf({ cls: 32, le: false, noStrsz: true, needed: ['libx.so.2'], soname: 'liby.so' }).buf);
    expect(info).toMatchObject({ needed: ['libx.so.2'], soname: 'liby.so' });
  });

  it('decodes names as UTF-8', async () => {
    expect((await parse(buildElf({ cls: 64, le: true, needed: ['libé.so'] }).buf))!.needed).toEqual(['libé.so']);
  });
});

describe('readElfInfo: not ELF', () => {
  it.each([
    ['a shell script', Buffer.from('#!/bin/sh\necho hello world, this is long enough to be an ELF header\n')],
    ['an empty file', Buffer.alloc(0)],
    ['3 bytes of the magic', Buffer.from([0x7f, 0x45, 0x4c])],
    ['a near miss', Buffer.from('\x7fELG'.padEnd(64, '\0'), 'latin1')],
    ['a gzip stream', Buffer.from([0x1f, 0x8b, 8, 0, ...new Array(60).fill(0)])],
  ])('%s is undefined', async (_name, buf) => {
    expect(await parse(buf)).toBeUndefined();
  });
});

describe('readElfInfo: truncated or corrupt ELF is an ElfError', () => {
  const full = () => buildElf({ cls: 64, le: true, ...FULL });
  const b = full();
  it.each([
    ['inside e_ident', 10],
    ['inside the ELF header', 40],
    ['inside the program headers', b.at.phoff + b.at.phentsize + 3],
    ['inside PT_INTERP', b.at.interp + 5],
    ['inside the string table', b.at.strtab + 3],
    ['inside the dynamic segment', b.at.dynamic + 20],
  ])('cut %s', async (_name, cut) => {
    const buf = b.buf.subarray(0, cut);
    await expect(readElfInfo(reader(buf).read, cut)).rejects.toThrow(ElfError);
    await expect(readElfInfo(reader(buf).read, cut)).rejects.toThrow(/truncated|past the end/);
  });

  it('a reader that returns fewer bytes than asked is reported, not read past', async () => {
    const short = async (offset: number, length: number) => b.buf.subarray(offset, offset + Math.min(length, 20));
    await expect(readElfInfo(short, b.buf.length)).rejects.toThrow(/gave 20 of \d+ bytes/);
  });

  type Patch = (x: Built) => void;
  const hostile: [string, Patch, RegExp][] = [
    ['unknown class', (x) => void (x.buf[4] = 9), /unknown ELF class 9/],
    ['unknown byte order', (x) => void (x.buf[5] = 0), /unknown ELF byte order/],
    ['e_phnum 0xffff', (x) => x.w16(0x38, 0xffff), /program headers .* runs past the end/],
    ['e_phentsize too small', (x) => x.w16(0x36, 8), /e_phentsize is 8/],
    ['e_phentsize too large', (x) => x.w16(0x36, 0xffff), /e_phentsize is 65535/],
    ['e_phoff at 2^63', (x) => x.wA(0x20, 1n << 63n), /program headers .* runs past the end/],
    ['PT_INTERP of 2^40 bytes', (x) => x.wA(x.at.ph.interp! + 32, 1n << 40n), /PT_INTERP is \d+ bytes/],
    ['PT_INTERP of 0 bytes', (x) => x.wA(x.at.ph.interp! + 32, 0), /PT_INTERP is 0 bytes/],
    ['PT_INTERP offset past the end', (x) => x.wA(x.at.ph.interp! + 8, 0xffff_ffff_ffffn), /PT_INTERP .* runs past the end/],
    ['PT_DYNAMIC of 2^62 bytes', (x) => x.wA(x.at.ph.dynamic! + 32, 1n << 62n), /PT_DYNAMIC .* runs past the end/],
    ['PT_DYNAMIC offset past the end', (x) => x.wA(x.at.ph.dynamic! + 8, 1n << 50n), /PT_DYNAMIC .* runs past the end/],
    ['DT_STRSZ of 2^60', (x) => x.wA(dynEntryValue(x, 10), 1n << 60n), /string table .* runs past the end/],
    ['DT_NEEDED offset outside the string table', (x) => x.wA(dynEntryValue(x, 1), 1_000_000), /DT_NEEDED string offset 1000000 is outside/],
    ['DT_STRTAB at an unmapped address', (x) => x.wA(dynEntryValue(x, 5), 0x1234), /DT_STRTAB 0x1234 is in no PT_LOAD/],
    ['no DT_STRTAB', (x) => x.wA(dynEntryTag(x, 5), 0x6fff_0000), /no DT_STRTAB/],
    ['string not NUL-terminated within DT_STRSZ', (x) => x.buf.fill(0x41, x.at.strtab + 1, x.at.dynamic), /not NUL-terminated/],
  ];
  it.each(hostile)('%s', async (_name, patch, message) => {
    const x = full();
    patch(x);
    const r = reader(x.buf);
    await expect(readElfInfo(r.read, x.buf.length)).rejects.toThrow(message);
    // Never read outside the file (the reader would have thrown a plain Error instead).
    expect(r.reads.every((q) => q.offset + q.length <= x.buf.length)).toBe(true);
  });

  it('a dynamic segment without DT_NULL in a huge file: bounded read, then an error', async () => {
    const x = buildElf({ cls: 64, le: true, needed: ['a.so'] });
    const size = 500 << 20; // 500 MB of "file": the built bytes, then whatever the reader makes up
    x.wA(x.at.ph.dynamic! + 32, 400 << 20);
    x.wA(x.at.ph.load2! + 32, 400 << 20);
    const r = reader(x.buf, size);
    // From the built DT_NULL on, every dynamic entry reads as DT_DEBUG (21): nothing ends the segment.
    const nullAt = dynEntryTag(x, 0);
    const endless = async (offset: number, length: number) => {
      const b = await r.read(offset, length);
      for (let o = 0; o + 16 <= length; o += 16) if (offset + o >= nullAt && (offset + o - x.at.dynamic) % 16 === 0) b.writeBigUInt64LE(21n, o);
      return b;
    };
    await expect(readElfInfo(endless, size)).rejects.toThrow(/no DT_NULL within 65536 entries/);
    expect(r.bytes()).toBeLessThan(2 << 20);
  });

  it('a 300 MB string table in a 500 MB file is read in a few KiB', async () => {
    const x = buildElf({ cls: 64, le: true, ...FULL });
    const size = 500 << 20;
    x.wA(dynEntryValue(x, 10), 300 << 20); // DT_STRSZ
    x.wA(x.at.ph.load2! + 32, 400 << 20);
    const r = reader(x.buf, size);
    const info = await readElfInfo(r.read, size);
    expect(info!.needed).toEqual(FULL.needed);
    expect(r.bytes()).toBeLessThan(80 * 1024);
  });
});

/** File offset of the value of the first dynamic entry with this tag (64-bit LE builds). */
function dynEntryValue(x: Built, tag: number): number {
  return dynEntryTag(x, tag) + x.at.dynent / 2;
}
function dynEntryTag(x: Built, tag: number): number {
  for (let o = x.at.dynamic; o < x.buf.length; o += x.at.dynent) if (Number(x.buf.readBigUInt64LE(o)) === tag) return o;
  throw new Error(`no dynamic tag ${tag}`);
}

// ---------------------------------------------------------------------------------------------
// Cross-check on this machine's own binaries against readelf (binutils).
// ---------------------------------------------------------------------------------------------
const MULTIARCH: Partial<Record<string, string>> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ia32: 'i386-linux-gnu', s390x: 's390x-linux-gnu', ppc64: 'powerpc64le-linux-gnu', riscv64: 'riscv64-linux-gnu' };
const triplet = MULTIARCH[process.arch] ?? 'unknown';
const libc = [`/usr/lib/${triplet}/libc.so.6`, `/lib/${triplet}/libc.so.6`].find((p) => existsSync(p)) ?? `/usr/lib/${triplet}/libc.so.6`;
describe('readElfInfo agrees with readelf on real binaries', () => {
  it('readelf is installed (binutils; scripts/setup.sh installs it)', () => {
    expect(() => execFileSync('readelf', ['--version'], { stdio: 'ignore' })).not.toThrow();
  });

  it.each(['/usr/bin/ls', libc].filter((p) => existsSync(p)))('%s', async (file) => {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      let bytes = 0;
      const info = await readElfInfo(async (offset, length) => {
        bytes += length;
        const b = Buffer.alloc(length);
        readSync(fd, b, 0, length, offset);
        return b;
      }, size);
      const out = execFileSync('readelf', ['-h', '-d', '-l', '-W', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      const all = (re: RegExp) => [...out.matchAll(re)].map((m) => m[1]!);
      const endian = /little endian/.test(out) ? 'little' : 'big';
      const machine = Number(execFileSync('od', ['-An', '-tu2', '-j18', '-N2', `--endian=${endian}`, file], { encoding: 'utf8' }).trim());
      expect(info).toEqual<ElfInfo>({
        class: /Class:\s+ELF64/.test(out) ? 64 : 32,
        endian: /little endian/.test(out) ? 'le' : 'be',
        machine,
        type: /Type:\s+DYN/.test(out) ? 'dyn' : 'exec',
        ...(/program interpreter: (.+?)\]/.test(out) ? { interp: /program interpreter: (.+?)\]/.exec(out)![1]! } : {}),
        needed: all(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g),
        rpath: all(/\(RPATH\)\s+Library rpath: \[(.*?)\]/g).flatMap((s) => s.split(':')),
        runpath: all(/\(RUNPATH\)\s+Library runpath: \[(.*?)\]/g).flatMap((s) => s.split(':')),
        ...(/\(SONAME\)\s+Library soname: \[(.+?)\]/.test(out) ? { soname: /\(SONAME\)\s+Library soname: \[(.+?)\]/.exec(out)![1]! } : {}),
      });
      expect(info!.needed.length).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(Math.min(size / 4, 128 * 1024)); // ranged reads, never the whole file
    } finally {
      closeSync(fd);
    }
  });

  it('found both binaries to check', () => {
    expect(existsSync('/usr/bin/ls')).toBe(true);
    expect(existsSync(libc)).toBe(true);
  });
});
