/**
 * glibc's /etc/ld.so.cache: the new format ("glibc-ld.so.cache1.1"), alone (glibc >= 2.32 writes
 * only this) or after the old "ld.so-1.7.0" table. Layout from glibc's sysdeps/generic/dl-cache.h.
 */
export interface LdSoCacheEntry {
  soname: string;
  path: string;
  flags: number;
}

const OLD_MAGIC = 'ld.so-1.7.0';
const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const NEW_HEADER = 48; // magic+version (20), nlibs, len_strings, flags+pad, extension_offset, unused[3]
const NEW_ENTRY = 24; // flags, key, value, osversion, hwcap (u64)

/** Architecture bits of the entry flags that a 64-bit object of each machine needs. */
const ARCH_FLAGS: Record<number, number> = { 62: 0x0300, 183: 0x0a00, 3: 0x0000, 40: 0x0000 };

export function parseLdSoCache(buf: Buffer): LdSoCacheEntry[] {
  let start = 0;
  if (buf.toString('latin1', 0, OLD_MAGIC.length) === OLD_MAGIC) {
    const nlibs = buf.readUInt32LE(12);
    start = align8(16 + nlibs * 12);
  }
  if (buf.length < start + NEW_HEADER || buf.toString('latin1', start, start + NEW_MAGIC.length) !== NEW_MAGIC) return [];
  const le = buf.readUInt32LE(start + 20) < 0x01000000; // endianness by plausibility of nlibs
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const i32 = (o: number) => (le ? buf.readInt32LE(o) : buf.readInt32BE(o));
  const nlibs = u32(start + 20);
  if (start + NEW_HEADER + nlibs * NEW_ENTRY > buf.length) return [];
  const out: LdSoCacheEntry[] = [];
  const str = (off: number) => {
    const abs = start + off;
    if (abs >= buf.length) return undefined;
    const end = buf.indexOf(0, abs);
    return buf.toString('latin1', abs, end === -1 ? buf.length : end);
  };
  for (let i = 0; i < nlibs; i++) {
    const e = start + NEW_HEADER + i * NEW_ENTRY;
    const soname = str(u32(e + 4));
    const path = str(u32(e + 8));
    if (soname && path) out.push({ soname, path, flags: i32(e) });
  }
  return out;
}

/** The path the cache gives for a soname, for an object of this machine (ld.so takes the first match). */
export function lookupCache(cache: readonly LdSoCacheEntry[], soname: string, machine: number): string | undefined {
  const want = ARCH_FLAGS[machine];
  return cache.find((e) => e.soname === soname && (want === undefined || (e.flags & 0xff00) === want) && (e.flags & 0xff) !== 0)?.path;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
