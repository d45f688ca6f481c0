/**
 * What ld.so needs from an ELF file: PT_INTERP, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME.
 * Hand-written because it is small and no kept npm package reads these through ranged reads
 * (files can be hundreds of MB; only headers, the dynamic section and its string table are read).
 * Section headers are not used: stripped files may lack them, and ld.so does not use them either.
 */
export interface ElfInfo {
  class: 32 | 64;
  endian: 'le' | 'be';
  machine: number;
  type: 'exec' | 'dyn' | 'rel' | 'core' | 'other';
  interp?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname?: string;
}

export type RangeReader = (offset: number, length: number) => Promise<Buffer>;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT = { NULL: 0, NEEDED: 1, STRTAB: 5, STRSZ: 10, SONAME: 14, RPATH: 15, RUNPATH: 29 } as const;
const MAX_PHNUM = 4096;
const MAX_DYN = 1 << 16;
const MAX_STRTAB = 64 << 20;

export class ElfError extends Error {}

interface Segment { type: number; offset: number; vaddr: number; filesz: number }

export async function readElfInfo(read: RangeReader, size: number): Promise<ElfInfo | undefined> {
  if (size < 52) return undefined;
  const ident = await read(0, Math.min(64, size));
  if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const cls = ident[4] === 2 ? 64 : ident[4] === 1 ? 32 : 0;
  const endian = ident[5] === 1 ? 'le' : ident[5] === 2 ? 'be' : undefined;
  if (!cls || !endian) throw new ElfError('unknown ELF class or byte order');
  const r = new Fields(ident, endian, cls);
  const type = ({ 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' } as const)[r.u16(16) as 1 | 2 | 3 | 4] ?? 'other';
  const machine = r.u16(18);
  const phoff = cls === 64 ? r.addr(0x20) : r.u32(0x1c);
  const phentsize = r.u16(cls === 64 ? 0x36 : 0x2a);
  const phnum = r.u16(cls === 64 ? 0x38 : 0x2c);
  const info: ElfInfo = { class: cls, endian, machine, type, needed: [], rpath: [], runpath: [] };
  if (phnum === 0) return info;
  const minEnt = cls === 64 ? 56 : 32;
  if (phnum > MAX_PHNUM || phentsize < minEnt || phoff + phnum * phentsize > size) throw new ElfError('program headers out of bounds');
  const ph = new Fields(await read(phoff, phnum * phentsize), endian, cls);
  const segs: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const b = i * phentsize;
    segs.push(
      cls === 64
        ? { type: ph.u32(b), offset: ph.addr(b + 8), vaddr: ph.addr(b + 16), filesz: ph.addr(b + 32) }
        : { type: ph.u32(b), offset: ph.u32(b + 4), vaddr: ph.u32(b + 8), filesz: ph.u32(b + 16) },
    );
  }
  const interp = segs.find((s) => s.type === PT_INTERP);
  if (interp) {
    if (interp.offset + interp.filesz > size || interp.filesz > 4096) throw new ElfError('PT_INTERP out of bounds');
    info.interp = cstr(await read(interp.offset, interp.filesz), 0);
  }
  const dyn = segs.find((s) => s.type === PT_DYNAMIC);
  if (!dyn || dyn.filesz === 0) return info;
  const entSize = cls === 64 ? 16 : 8;
  const count = Math.min(Math.floor(dyn.filesz / entSize), MAX_DYN);
  if (dyn.offset + count * entSize > size) throw new ElfError('PT_DYNAMIC out of bounds');
  const d = new Fields(await read(dyn.offset, count * entSize), endian, cls);
  const tags: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const tag = cls === 64 ? d.addr(i * 16) : d.u32(i * 8);
    const val = cls === 64 ? d.addr(i * 16 + 8) : d.u32(i * 8 + 4);
    if (tag === DT.NULL) break;
    tags.push([tag, val]);
  }
  const strtabVaddr = tags.find(([t]) => t === DT.STRTAB)?.[1];
  const strsz = tags.find(([t]) => t === DT.STRSZ)?.[1];
  if (strtabVaddr === undefined || strsz === undefined) return info;
  const load = segs.find((s) => s.type === PT_LOAD && strtabVaddr >= s.vaddr && strtabVaddr < s.vaddr + s.filesz);
  if (!load) throw new ElfError('DT_STRTAB is not in a loaded segment');
  const strOff = strtabVaddr - load.vaddr + load.offset;
  if (strsz > MAX_STRTAB || strOff + strsz > size) throw new ElfError('string table out of bounds');
  const strtab = await read(strOff, strsz);
  const str = (off: number) => {
    if (off >= strtab.length) throw new ElfError('string offset out of bounds');
    return cstr(strtab, off);
  };
  const split = (s: string) => s.split(':').filter(Boolean);
  for (const [tag, val] of tags) {
    if (tag === DT.NEEDED) info.needed.push(str(val));
    else if (tag === DT.RPATH) info.rpath.push(...split(str(val)));
    else if (tag === DT.RUNPATH) info.runpath.push(...split(str(val)));
    else if (tag === DT.SONAME) info.soname = str(val);
  }
  return info;
}

function cstr(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end === -1 ? buf.length : end);
}

class Fields {
  constructor(private readonly b: Buffer, private readonly endian: 'le' | 'be', private readonly cls: 32 | 64) {}
  private check(off: number, n: number) {
    if (off + n > this.b.length) throw new ElfError('ELF is truncated');
  }
  u16(off: number): number {
    this.check(off, 2);
    return this.endian === 'le' ? this.b.readUInt16LE(off) : this.b.readUInt16BE(off);
  }
  u32(off: number): number {
    this.check(off, 4);
    return this.endian === 'le' ? this.b.readUInt32LE(off) : this.b.readUInt32BE(off);
  }
  /** A 64-bit field; values beyond 2^53 cannot be file offsets of a real file and are rejected. */
  addr(off: number): number {
    if (this.cls === 32) return this.u32(off);
    this.check(off, 8);
    const v = this.endian === 'le' ? this.b.readBigUInt64LE(off) : this.b.readBigUInt64BE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
    return Number(v);
  }
}
