/**
 * glibc's /etc/ld.so.cache, as ld.so reads it (glibc elf/dl-cache.c, sysdeps/generic/dl-cache.h).
 *
 * Layouts, all handled:
 *  - new format alone: "glibc-ld.so.cache1.1" header (48 bytes), entries of 24 bytes, strings
 *    (what ldconfig writes by default since glibc 2.32, so Debian 12);
 *  - old "ld.so-1.7.0" table followed, at the next 8-byte boundary (4 on i386, whose uint64_t
 *    aligns to 4), by the new format: what older ldconfig wrote by default;
 *  - the old format alone (entries of 12 bytes), only as a fallback.
 * String offsets of the new format count from the start of its header; those of the old one from
 * the end of its entry table. The new format states its byte order in its header; ld.so ignores a
 * cache whose header or entry table does not fit in the file, and so does this parser (it returns
 * []). Entries whose strings lie outside the file are skipped, as ld.so skips them.
 */
export interface LdSoCacheEntry {
  soname: string;
  path: string;
  /** Low byte: library kind (3 = ELF libc6, 1 = ELF); high byte: architecture (0x03 = x86-64, so 0x0303). */
  flags: number;
  /** The architecture bits mark a 64-bit library (x86-64 libc6 = 0x0303, aarch64 = 0x0a03, ...). */
  is64: boolean;
  /** The entry's hwcap word, present only when not zero (glibc-hwcaps and legacy hwcap entries). */
  hwcap?: bigint;
}

/** The object asking: its ELF class and e_machine. */
export interface CacheTarget {
  class: 32 | 64;
  machine: number;
}

export const X86_64: CacheTarget = { class: 64, machine: 62 };

const OLD_MAGIC = Buffer.from('ld.so-1.7.0', 'latin1');
const NEW_MAGIC = Buffer.from('glibc-ld.so.cache1.1', 'latin1');
const OLD_HEADER = 16; // magic (11) + pad (1) + nlibs (4)
const OLD_ENTRY = 12; // flags, key, value
const NEW_HEADER = 48; // magic+version (20), nlibs, len_strings, flags (1) + pad (3), extension_offset, unused[3]
const NEW_ENTRY = 24; // flags, key, value, osversion, hwcap (u64)
const ENDIAN_LITTLE = 2;
const ENDIAN_BIG = 3;
const ENDIAN_INVALID = 1;

/** Architecture bytes (flags & 0xff00) of 64-bit libraries, from glibc's sysdeps/generic/ldconfig.h. */
const ARCH_64 = new Set([
  0x0100, // FLAG_SPARC_LIB64
  0x0200, // FLAG_IA64_LIB64
  0x0300, // FLAG_X8664_LIB64
  0x0400, // FLAG_S390_LIB64
  0x0500, // FLAG_POWERPC_LIB64
  0x0700, // FLAG_MIPS64_LIBN64
  0x0a00, // FLAG_AARCH64_LIB64
  0x0e00, // FLAG_MIPS64_LIBN64_NAN2008
  0x0f00, // FLAG_RISCV_FLOAT_ABI_SOFT (riscv64)
  0x1000, // FLAG_RISCV_FLOAT_ABI_DOUBLE (riscv64)
  0x1100, // FLAG_LARCH_FLOAT_ABI_SOFT
  0x1200, // FLAG_LARCH_FLOAT_ABI_DOUBLE
]);

/**
 * The entry flags ld.so of each architecture accepts (its _dl_cache_check_flags), by
 * "e_machine/class". Where the choice depends on the float ABI in e_flags (ARM, RISC-V,
 * LoongArch, MIPS), both are accepted. Anything else gets glibc's generic rule: 1 or 3.
 */
const ACCEPTED_FLAGS: Record<string, readonly number[]> = {
  '62/64': [0x0303], // x86-64
  '62/32': [0x0803], // x32
  '3/32': [0x0001, 0x0003], // i386 (generic)
  '183/64': [0x0a03], // aarch64
  '40/32': [0x0903, 0x0b03, 0x0003], // arm hard/soft float, or unmarked
  '21/64': [0x0503], // ppc64
  '22/64': [0x0403], // s390x
  '43/64': [0x0103], // sparc64
  '50/64': [0x0203], // ia64
  '8/32': [0x0001, 0x0003, 0x0c03, 0x0603, 0x0d03], // mips o32, n32
  '8/64': [0x0703, 0x0e03], // mips n64
  '243/64': [0x1003, 0x0f03], // riscv64
  '258/64': [0x1203, 0x1103], // loongarch64
};
const GENERIC_FLAGS: readonly number[] = [0x0001, 0x0003];

/** Entries of an ld.so.cache in file order; [] if the buffer is not a cache ld.so would use. */
export function parseLdSoCache(buf: Buffer): LdSoCacheEntry[] {
  if (startsWith(buf, 0, NEW_MAGIC)) return parseNew(buf, 0);
  if (!startsWith(buf, 0, OLD_MAGIC) || buf.length < OLD_HEADER) return [];
  // The old header carries no byte order: take the one in which the entry table fits.
  for (const le of [true, false]) {
    const nlibs = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
    const oldEnd = OLD_HEADER + nlibs * OLD_ENTRY;
    if (oldEnd > buf.length) continue;
    for (const align of [8, 4]) {
      const at = alignUp(oldEnd, align);
      if (startsWith(buf, at, NEW_MAGIC)) return parseNew(buf, at);
    }
    return parseOld(buf, nlibs, le);
  }
  return [];
}

function parseNew(buf: Buffer, start: number): LdSoCacheEntry[] {
  if (buf.length < start + NEW_HEADER) return [];
  const endianFlag = buf[start + 28]! & 3;
  if (endianFlag === ENDIAN_INVALID) return [];
  const room = Math.floor((buf.length - start - NEW_HEADER) / NEW_ENTRY);
  // An ldconfig older than glibc 2.33 left the byte order unset: take the one in which nlibs fits.
  const le = endianFlag === ENDIAN_LITTLE || (endianFlag !== ENDIAN_BIG && buf.readUInt32LE(start + 20) <= room);
  const r = new Reader(buf, le);
  const nlibs = r.u32(start + 20);
  if (nlibs > room) return []; // ld.so's own corruption check
  const out: LdSoCacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const e = start + NEW_HEADER + i * NEW_ENTRY;
    const soname = cstring(buf, start, r.u32(e + 4));
    const path = cstring(buf, start, r.u32(e + 8));
    if (soname === undefined || path === undefined) continue;
    const hwcap = r.u64(e + 16);
    out.push(entry(soname, path, r.i32(e), hwcap));
  }
  return out;
}

function parseOld(buf: Buffer, nlibs: number, le: boolean): LdSoCacheEntry[] {
  const r = new Reader(buf, le);
  const strings = OLD_HEADER + nlibs * OLD_ENTRY;
  const out: LdSoCacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const e = OLD_HEADER + i * OLD_ENTRY;
    const soname = cstring(buf, strings, r.u32(e + 4));
    const path = cstring(buf, strings, r.u32(e + 8));
    if (soname !== undefined && path !== undefined) out.push(entry(soname, path, r.i32(e), 0n));
  }
  return out;
}

function entry(soname: string, path: string, flags: number, hwcap: bigint): LdSoCacheEntry {
  const e: LdSoCacheEntry = { soname, path, flags, is64: ARCH_64.has(flags & 0xff00) };
  if (hwcap !== 0n) e.hwcap = hwcap;
  return e;
}

/** The cache flags that ld.so for this kind of object accepts. */
export function acceptedCacheFlags(target: CacheTarget): readonly number[] {
  return ACCEPTED_FLAGS[`${target.machine}/${target.class}`] ?? GENERIC_FLAGS;
}

/**
 * The path the cache gives for `soname` to an object of `target`'s class and machine (x86-64 by
 * default): the first entry, in file order, with that exact soname and flags ld.so accepts.
 * Entries with hwcap bits (glibc-hwcaps subdirectories) are used only when no plain entry
 * matches: which of them ld.so would prefer depends on the CPU that runs the image.
 */
export function lookupCache(cache: readonly LdSoCacheEntry[], soname: string, target: CacheTarget = X86_64): string | undefined {
  const accepted = acceptedCacheFlags(target);
  let hwcapOnly: string | undefined;
  for (const e of cache) {
    if (e.soname !== soname || !accepted.includes(e.flags)) continue;
    if (e.hwcap === undefined) return e.path;
    hwcapOnly ??= e.path;
  }
  return hwcapOnly;
}

function startsWith(buf: Buffer, at: number, magic: Buffer): boolean {
  return buf.length >= at + magic.length && buf.subarray(at, at + magic.length).equals(magic);
}

/** A NUL-terminated string at base+off, or undefined if it starts or runs outside the buffer. */
function cstring(buf: Buffer, base: number, off: number): string | undefined {
  const abs = base + off;
  if (abs >= buf.length) return undefined;
  const nul = buf.indexOf(0, abs);
  return nul === -1 ? undefined : buf.toString('utf8', abs, nul);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

class Reader {
  constructor(private readonly b: Buffer, private readonly le: boolean) {}
  u32(o: number): number {
    return this.le ? this.b.readUInt32LE(o) : this.b.readUInt32BE(o);
  }
  i32(o: number): number {
    return this.le ? this.b.readInt32LE(o) : this.b.readInt32BE(o);
  }
  u64(o: number): bigint {
    return this.le ? this.b.readBigUInt64LE(o) : this.b.readBigUInt64BE(o);
  }
}
