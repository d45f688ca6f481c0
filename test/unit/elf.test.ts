import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readElfInfo, ElfError } from '../../src/closure/elf.js';
import { parseLdSoCache, lookupCache } from '../../src/closure/ld-so-cache.js';

const fromBuf = (b: Buffer) => (o: number, n: number) => Promise.resolve(b.subarray(o, o + n));

/** A minimal ELF made in the test: header, PT_INTERP, PT_LOAD, PT_DYNAMIC with a string table. */
function mkElf(opts: { cls: 32 | 64; le: boolean; interp?: string; needed?: string[]; rpath?: string; runpath?: string; soname?: string; machine?: number }): Buffer {
  const is64 = opts.cls === 64;
  const ehsize = is64 ? 64 : 52;
  const phent = is64 ? 56 : 32;
  const strs: string[] = ['', ...(opts.needed ?? []), ...(opts.rpath ? [opts.rpath] : []), ...(opts.runpath ? [opts.runpath] : []), ...(opts.soname ? [opts.soname] : [])];
  const strOff = new Map<string, number>();
  let strtab = Buffer.alloc(0);
  for (const s of strs) {
    strOff.set(s, strtab.length);
    strtab = Buffer.concat([strtab, Buffer.from(s + '\0', 'latin1')]);
  }
  const dyn: [number, number][] = [
    ...(opts.needed ?? []).map((n) => [1, strOff.get(n)!] as [number, number]),
    ...(opts.rpath ? [[15, strOff.get(opts.rpath)!] as [number, number]] : []),
    ...(opts.runpath ? [[29, strOff.get(opts.runpath)!] as [number, number]] : []),
    ...(opts.soname ? [[14, strOff.get(opts.soname)!] as [number, number]] : []),
  ];
  const interp = opts.interp ? Buffer.from(opts.interp + '\0') : undefined;
  const phnum = 2 + (interp ? 1 : 0);
  const phoff = ehsize;
  const interpOff = phoff + phnum * phent;
  const strtabOff = interpOff + (interp?.length ?? 0);
  const dynEnt = is64 ? 16 : 8;
  const dynOff = strtabOff + strtab.length + 8 - ((strtabOff + strtab.length) % 8);
  const dynEntries = [...dyn, [5, 0x400000 + strtabOff] as [number, number], [10, strtab.length] as [number, number], [0, 0] as [number, number]];
  const total = dynOff + dynEntries.length * dynEnt;
  const b = Buffer.alloc(total);
  const w16 = (o: number, v: number) => (opts.le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (o: number, v: number) => (opts.le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const wA = (o: number, v: number) => (is64 ? (opts.le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o)) : w32(o, v));
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = is64 ? 2 : 1;
  b[5] = opts.le ? 1 : 2;
  b[6] = 1;
  w16(16, 3);
  w16(18, opts.machine ?? 62);
  wA(is64 ? 0x20 : 0x1c, phoff);
  w16(is64 ? 0x36 : 0x2a, phent);
  w16(is64 ? 0x38 : 0x2c, phnum);
  const ph = (i: number, type: number, off: number, vaddr: number, sz: number) => {
    const o = phoff + i * phent;
    w32(o, type);
    if (is64) {
      wA(o + 8, off);
      wA(o + 16, vaddr);
      wA(o + 32, sz);
      wA(o + 40, sz);
    } else {
      w32(o + 4, off);
      w32(o + 8, vaddr);
      w32(o + 16, sz);
      w32(o + 20, sz);
    }
  };
  let i = 0;
  if (interp) ph(i++, 3, interpOff, 0x400000 + interpOff, interp.length);
  ph(i++, 1, 0, 0x400000, total);
  ph(i++, 2, dynOff, 0x400000 + dynOff, dynEntries.length * dynEnt);
  interp?.copy(b, interpOff);
  strtab.copy(b, strtabOff);
  dynEntries.forEach(([t, v], k) => {
    wA(dynOff + k * dynEnt, t);
    wA(dynOff + k * dynEnt + (is64 ? 8 : 4), v);
  });
  return b;
}

describe('readElfInfo', () => {
  it.each([
    [64, true],
    [64, false],
    [32, true],
    [32, false],
  ] as const)('ELF%i %s-endian: interp, needed, rpath, runpath, soname', async (cls, le) => {
    const b = mkElf({ cls, le, interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so.6', 'libm.so.6'], rpath: '$ORIGIN/../lib:/opt/x', runpath: '/r', soname: 'libme.so.1' });
    const info = await readElfInfo(fromBuf(b), b.length);
    expect(info).toEqual({
      class: cls,
      endian: le ? 'le' : 'be',
      machine: 62,
      type: 'dyn',
      interp: '/lib64/ld-linux-x86-64.so.2',
      needed: ['libc.so.6', 'libm.so.6'],
      rpath: ['$ORIGIN/../lib', '/opt/x'],
      runpath: ['/r'],
      soname: 'libme.so.1',
    });
  });

  it('not ELF gives undefined; truncated or hostile ELF is an error, never a hang', async () => {
    expect(await readElfInfo(fromBuf(Buffer.from('#!/bin/sh\n'.padEnd(80))), 80)).toBeUndefined();
    const b = mkElf({ cls: 64, le: true, needed: ['libc.so.6'] });
    await expect(readElfInfo(fromBuf(b.subarray(0, 100)), 100)).rejects.toThrow(ElfError);
    const hostile = Buffer.from(b);
    hostile.writeUInt16LE(0xffff, 0x38); // phnum
    await expect(readElfInfo(fromBuf(hostile), hostile.length)).rejects.toThrow(/out of bounds/);
  });

  it('agrees with readelf on this machine\'s /usr/bin/ls', async () => {
    const b = readFileSync('/usr/bin/ls');
    const info = await readElfInfo(fromBuf(b), b.length);
    const readelf = execFileSync('readelf', ['-d', '-l', '/usr/bin/ls'], { encoding: 'utf8' });
    const needed = [...readelf.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
    expect(info!.needed).toEqual(needed);
    expect(info!.interp).toBe(/Requesting program interpreter: (.+?)\]/.exec(readelf)![1]);
  });
});

describe('parseLdSoCache', () => {
  it('agrees with ldconfig -p on this machine', () => {
    const entries = parseLdSoCache(readFileSync('/etc/ld.so.cache'));
    const listed = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('\t'));
    expect(entries.length).toBe(listed.length);
    const libc = /libc\.so\.6 \(libc6,x86-64\) => (\S+)/.exec(listed.join('\n'))![1];
    expect(lookupCache(entries, 'libc.so.6', 62)).toBe(libc);
  });

  it('reads a cache made in the test and ignores garbage', () => {
    const strings = Buffer.from('libz.so.1\0/usr/lib/libz.so.1\0');
    const header = Buffer.alloc(48);
    header.write('glibc-ld.so.cache1.1', 0, 'latin1');
    header.writeUInt32LE(1, 20);
    header.writeUInt32LE(strings.length, 24);
    const entry = Buffer.alloc(24);
    entry.writeInt32LE(0x0303, 0);
    entry.writeUInt32LE(72, 4);
    entry.writeUInt32LE(72 + 10, 8);
    const cache = Buffer.concat([header, entry, strings]);
    expect(parseLdSoCache(cache)).toEqual([{ soname: 'libz.so.1', path: '/usr/lib/libz.so.1', flags: 0x0303 }]);
    expect(lookupCache(parseLdSoCache(cache), 'libz.so.1', 62)).toBe('/usr/lib/libz.so.1');
    expect(lookupCache(parseLdSoCache(cache), 'libz.so.1', 183)).toBeUndefined();
    expect(parseLdSoCache(Buffer.from('garbage'))).toEqual([]);
  });
});
