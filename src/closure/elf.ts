/**
 * What ld.so needs from an ELF file: PT_INTERP, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME.
 *
 * Read through ranged reads only (files can be hundreds of MB): the ELF header, the program
 * headers, the dynamic segment and the few strings it names. Section headers are never used:
 * stripped files may lack them, and neither the kernel nor ld.so looks at them. The string table
 * is found the way ld.so finds it: DT_STRTAB is a virtual address, translated to a file offset
 * through the PT_LOAD segment that contains it.
 *
 * Every length comes from the file, so every length is checked against `size` and against small
 * fixed caps before anything is read or allocated; a file that breaks them is reported with an
 * ElfError saying what is wrong and where.
 */
export interface ElfInfo {
  class: 32 | 64;
  endian: 'le' | 'be';
  machine: number;
  type: 'exec' | 'dyn' | 'rel' | 'core' | 'other';
  /** PT_INTERP (the first one, as the kernel uses), up to its NUL. */
  interp?: string;
  /** DT_NEEDED, in the order of the dynamic segment. */
  needed: string[];
  /** DT_RPATH split on ':' with empty elements kept (ld.so reads an empty element as the cwd); [] if absent. */
  rpath: string[];
  /** DT_RUNPATH split on ':' likewise; [] if absent, so `runpath.length > 0` means "has DT_RUNPATH". */
  runpath: string[];
  soname?: string;
}

export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

/** A file that starts with the ELF magic but cannot be read as one (truncated, corrupt or hostile). */
export class ElfError extends Error {
  override name = 'ElfError';
}

const ELF_MAGIC = 0x7f454c46;
const ET: Record<number, ElfInfo['type']> = { 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' };
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/** Layout of the structures whose size depends on the class. */
const LAYOUT = {
  32: { ehsize: 52, phoff: 0x1c, phentsizeAt: 0x2a, phnumAt: 0x2c, phentsize: 32, dynent: 8 },
  64: { ehsize: 64, phoff: 0x20, phentsizeAt: 0x36, phnumAt: 0x38, phentsize: 56, dynent: 16 },
} as const;

/** The kernel refuses a PT_INTERP longer than PATH_MAX. */
const MAX_INTERP = 4096;
/** Far beyond any real dynamic segment (a few dozen entries); bounds the buffer read for it. */
const MAX_DYN_ENTRIES = 65536;
/** Longest string read from the dynamic string table (an RPATH of 64 KiB is already absurd). */
const MAX_STRING = 65536;
/** Strings close together are fetched with one read of at most this many bytes. */
const STRING_WINDOW = 64 * 1024;

interface Segment {
  type: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

/**
 * Reads what ld.so needs from an ELF file through ranged reads. Returns undefined if the file
 * does not start with the ELF magic; throws an ElfError if it does but is truncated or corrupt.
 * `read(offset, length)` must return `length` bytes for any range inside `[0, size)`.
 */
export async function readElfInfo(read: RangeReader, size: number): Promise<ElfInfo | undefined> {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`readElfInfo: bad size ${size}`);
  if (size < 4) return undefined;
  const file = new FileReader(read, size);
  const head = await file.read(0, Math.min(size, LAYOUT[64].ehsize), 'ELF header');
  if (head.readUInt32BE(0) !== ELF_MAGIC) return undefined;
  if (size < 16) throw new ElfError(`truncated ELF: ${size} bytes, shorter than e_ident`);

  const cls = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined;
  if (!cls) throw new ElfError(`unknown ELF class ${head[4]} (e_ident[EI_CLASS])`);
  const endian = head[5] === 1 ? 'le' : head[5] === 2 ? 'be' : undefined;
  if (!endian) throw new ElfError(`unknown ELF byte order ${head[5]} (e_ident[EI_DATA])`);
  const L = LAYOUT[cls];
  if (size < L.ehsize) throw new ElfError(`truncated ELF: ${size} bytes, an ELF${cls} header needs ${L.ehsize}`);
  const eh = new Fields(head, endian, cls);

  const info: ElfInfo = { class: cls, endian, machine: eh.u16(18), type: ET[eh.u16(16)] ?? 'other', needed: [], rpath: [], runpath: [] };

  // Program headers.
  const phoff = eh.word(L.phoff);
  const phentsize = eh.u16(L.phentsizeAt);
  const phnum = eh.u16(L.phnumAt);
  if (phnum === 0) return info; // relocatable objects, some core files: nothing for ld.so
  // The kernel and ld.so both refuse any other entry size.
  if (phentsize !== L.phentsize) throw new ElfError(`e_phentsize is ${phentsize}, ELF${cls} program headers are ${L.phentsize} bytes`);
  const phBytes = phnum * phentsize; // at most 65535 * 56: small, and checked against size below
  const ph = new Fields(await file.read(phoff, phBytes, 'program headers'), endian, cls);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const b = i * phentsize;
    segments.push(
      cls === 64
        ? { type: ph.u32(b), offset: ph.word(b + 8), vaddr: ph.word(b + 16), filesz: ph.word(b + 32) }
        : { type: ph.u32(b), offset: ph.word(b + 4), vaddr: ph.word(b + 8), filesz: ph.word(b + 16) },
    );
  }

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    if (interp.filesz === 0n || interp.filesz > BigInt(MAX_INTERP)) throw new ElfError(`PT_INTERP is ${interp.filesz} bytes (expected 1..${MAX_INTERP})`);
    const raw = await file.read(interp.offset, Number(interp.filesz), 'PT_INTERP');
    info.interp = cstring(raw, 0, raw.length);
  }

  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic || dynamic.filesz === 0n) return info; // statically linked

  // Dynamic entries, up to DT_NULL. Tags that ld.so keeps one of (STRTAB, STRSZ, SONAME, RPATH,
  // RUNPATH) follow its rule: the last one wins. DT_NEEDED are all kept, in order.
  const total = Number(dynamic.filesz / BigInt(L.dynent));
  const count = Math.min(total, MAX_DYN_ENTRIES);
  const dyn = new Fields(await file.read(dynamic.offset, count * L.dynent, 'PT_DYNAMIC'), endian, cls);
  const neededAt: bigint[] = [];
  const one = new Map<bigint, bigint>();
  let terminated = false;
  for (let i = 0; i < count; i++) {
    const tag = cls === 64 ? dyn.i64(i * 16) : BigInt(dyn.i32(i * 8));
    const val = dyn.word(i * L.dynent + L.dynent / 2);
    if (tag === DT_NULL) {
      terminated = true;
      break;
    }
    if (tag === DT_NEEDED) neededAt.push(val);
    else if (tag === DT_STRTAB || tag === DT_STRSZ || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) one.set(tag, val);
  }
  if (!terminated && total > MAX_DYN_ENTRIES) throw new ElfError(`PT_DYNAMIC has no DT_NULL within ${MAX_DYN_ENTRIES} entries`);

  const named = [...neededAt, ...[DT_SONAME, DT_RPATH, DT_RUNPATH].flatMap((t) => (one.has(t) ? [one.get(t)!] : []))];
  if (named.length === 0) return info;
  const strtab = one.get(DT_STRTAB);
  if (strtab === undefined) throw new ElfError('dynamic segment names strings but has no DT_STRTAB');
  const load = segments.find((s) => s.type === PT_LOAD && strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
  if (!load) throw new ElfError(`DT_STRTAB 0x${strtab.toString(16)} is in no PT_LOAD segment's file image`);
  const strOff = strtab - load.vaddr + load.offset;
  // Without DT_STRSZ (ld.so does not need it), the table can only extend to the segment's end.
  const segmentRest = load.vaddr + load.filesz - strtab;
  const strsz = one.get(DT_STRSZ) ?? segmentRest;
  if (strOff + strsz > BigInt(size)) throw new ElfError(`dynamic string table (${strsz} bytes at ${strOff}) runs past the end of the ${size}-byte file`);
  const strings = new StringTable(file, Number(strOff), Number(strsz));
  await strings.prefetch(named);

  for (const off of neededAt) info.needed.push(await strings.get(off, 'DT_NEEDED'));
  const soname = one.get(DT_SONAME);
  if (soname !== undefined) info.soname = await strings.get(soname, 'DT_SONAME');
  const rpath = one.get(DT_RPATH);
  if (rpath !== undefined) info.rpath = (await strings.get(rpath, 'DT_RPATH')).split(':');
  const runpath = one.get(DT_RUNPATH);
  if (runpath !== undefined) info.runpath = (await strings.get(runpath, 'DT_RUNPATH')).split(':');
  return info;
}

/** Every read checked against the file size before it is made, and its result checked after. */
class FileReader {
  constructor(private readonly readFn: RangeReader, readonly size: number) {}

  async read(offset: bigint | number, length: number, what: string): Promise<Buffer> {
    const off = BigInt(offset);
    if (off + BigInt(length) > BigInt(this.size)) throw new ElfError(`truncated or corrupt ELF: ${what} (${length} bytes at ${off}) runs past the end of the ${this.size}-byte file`);
    const buf = await this.readFn(Number(off), length);
    if (buf.length < length) throw new ElfError(`truncated ELF: reading ${what} gave ${buf.length} of ${length} bytes at ${off}`);
    return buf.length === length ? buf : buf.subarray(0, length);
  }
}

/** Strings of the dynamic string table, read in windows rather than as a whole table (which can be MBs). */
class StringTable {
  private window: { start: number; buf: Buffer } | undefined;

  constructor(private readonly file: FileReader, private readonly offset: number, private readonly size: number) {}

  /** One read covering every string offset, when they lie close together (the usual case). */
  async prefetch(offsets: bigint[]): Promise<void> {
    const inRange = offsets.filter((o) => o < BigInt(this.size)).map(Number);
    if (inRange.length === 0) return;
    const start = Math.min(...inRange);
    const end = Math.min(this.size, Math.max(...inRange) + 256);
    if (end - start <= STRING_WINDOW) this.window = { start, buf: await this.file.read(this.offset + start, end - start, 'dynamic string table') };
  }

  async get(offset: bigint, what: string): Promise<string> {
    if (offset >= BigInt(this.size)) throw new ElfError(`${what} string offset ${offset} is outside the ${this.size}-byte string table`);
    const off = Number(offset);
    const w = this.window;
    if (w && off >= w.start && off < w.start + w.buf.length) {
      const nul = w.buf.indexOf(0, off - w.start);
      if (nul !== -1) return w.buf.toString('utf8', off - w.start, nul);
    }
    // Not (wholly) in the window: read forward from the string, growing up to MAX_STRING.
    const limit = Math.min(this.size - off, MAX_STRING);
    for (let len = Math.min(limit, 256); ; len = Math.min(limit, len * 16)) {
      const buf = await this.file.read(this.offset + off, len, 'dynamic string table');
      const nul = buf.indexOf(0);
      if (nul !== -1) return buf.toString('utf8', 0, nul);
      if (len === limit) throw new ElfError(`${what} string at offset ${off} is not NUL-terminated within ${limit} bytes`);
    }
  }
}

function cstring(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
}

/** Fixed-size fields of one buffer in the file's byte order; a field past the buffer is a truncated file. */
class Fields {
  constructor(private readonly b: Buffer, private readonly endian: 'le' | 'be', private readonly cls: 32 | 64) {}

  private at(off: number, n: number): number {
    if (off + n > this.b.length) throw new ElfError(`truncated ELF: field at ${off} past the ${this.b.length} bytes read`);
    return off;
  }
  u16(off: number): number {
    return this.endian === 'le' ? this.b.readUInt16LE(this.at(off, 2)) : this.b.readUInt16BE(this.at(off, 2));
  }
  u32(off: number): number {
    return this.endian === 'le' ? this.b.readUInt32LE(this.at(off, 4)) : this.b.readUInt32BE(this.at(off, 4));
  }
  i32(off: number): number {
    return this.endian === 'le' ? this.b.readInt32LE(this.at(off, 4)) : this.b.readInt32BE(this.at(off, 4));
  }
  i64(off: number): bigint {
    return this.endian === 'le' ? this.b.readBigInt64LE(this.at(off, 8)) : this.b.readBigInt64BE(this.at(off, 8));
  }
  /** An address, offset or size: 32 or 64 bits by class, as a bigint so 64-bit values stay exact. */
  word(off: number): bigint {
    if (this.cls === 32) return BigInt(this.u32(off));
    return this.endian === 'le' ? this.b.readBigUInt64LE(this.at(off, 8)) : this.b.readBigUInt64BE(this.at(off, 8));
  }
}
