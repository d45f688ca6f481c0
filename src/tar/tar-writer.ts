import { Readable } from 'node:stream';
import { encodePax, type PaxRecords } from './pax.js';

/**
 * A POSIX (pax) tar writer. tar-stream's packer writes PAX records as UTF-8 text, so it cannot
 * carry binary xattrs (security.capability) or names that are not UTF-8; this one writes every
 * name and value byte for byte. Names, link targets, user names and xattr values are byte
 * strings (one character per byte, latin1), as everywhere in slim.
 */
export interface TarHeader {
  name: string;
  type: 'file' | 'link' | 'symlink' | 'directory' | 'fifo' | 'character-device' | 'block-device';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

export interface TarItem {
  header: TarHeader;
  /** The file's bytes; exactly header.size of them. */
  body?: () => Readable;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarHeader['type'], string> = { file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6' };

/** A tar stream of the items, in order: pulls each body only when the consumer wants bytes. */
export function tarStream(items: AsyncIterable<TarItem> | Iterable<TarItem>): Readable {
  return Readable.from(
    (async function* () {
      for await (const item of items) {
        yield* headerBlocks(item.header);
        const size = item.header.type === 'file' ? item.header.size ?? 0 : 0;
        if (size > 0) {
          let written = 0;
          for await (const chunk of item.body!()) {
            written += (chunk as Buffer).length;
            if (written > size) throw new Error(`${printable(item.header.name)}: its content is longer than its ${size} bytes`);
            yield chunk as Buffer;
          }
          if (written !== size) throw new Error(`${printable(item.header.name)}: ${written} bytes of content, its header says ${size}`);
          if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
        }
      }
      yield Buffer.alloc(2 * BLOCK);
    })(),
    { objectMode: false },
  );
}

/** The entry's header, preceded by a PAX header for what ustar cannot hold. */
export function headerBlocks(h: TarHeader): Buffer[] {
  const name = h.type === 'directory' && !h.name.endsWith('/') ? h.name + '/' : h.name;
  const size = h.type === 'file' ? h.size ?? 0 : 0;
  const pax: PaxRecords = {};
  if (!fits(name, 100)) pax.path = name;
  if (h.linkname !== undefined && !fits(h.linkname, 100)) pax.linkpath = h.linkname;
  if (h.uname !== undefined && !fits(h.uname, 32)) pax.uname = h.uname;
  if (h.gname !== undefined && !fits(h.gname, 32)) pax.gname = h.gname;
  if (size > 0o77777777777) pax.size = String(size);
  if (h.uid > 0o7777777) pax.uid = String(h.uid);
  if (h.gid > 0o7777777) pax.gid = String(h.gid);
  for (const [k, v] of Object.entries(h.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = v;

  const blocks: Buffer[] = [];
  if (Object.keys(pax).length > 0) {
    const records = encodePax(pax);
    blocks.push(ustar({ name: 'PaxHeader', typeflag: 'x', mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: h.mtime }));
    blocks.push(records, Buffer.alloc((BLOCK - (records.length % BLOCK)) % BLOCK));
  }
  blocks.push(
    ustar({
      name: pax.path !== undefined ? placeholder(name, 100) : name,
      typeflag: TYPEFLAG[h.type],
      mode: h.mode,
      uid: pax.uid !== undefined ? 0 : h.uid,
      gid: pax.gid !== undefined ? 0 : h.gid,
      size: pax.size !== undefined ? 0 : size,
      mtime: h.mtime,
      ...(h.linkname !== undefined ? { linkname: pax.linkpath !== undefined ? placeholder(h.linkname, 100) : h.linkname } : {}),
      ...(h.uname !== undefined ? { uname: pax.uname !== undefined ? '' : h.uname } : {}),
      ...(h.gname !== undefined ? { gname: pax.gname !== undefined ? '' : h.gname } : {}),
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
    }),
  );
  return blocks;
}

interface UstarFields {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
}

function ustar(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'latin1');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, Math.max(0, Math.floor(f.mtime)));
  b.write(f.typeflag, 156, 1, 'latin1');
  if (f.linkname) b.write(f.linkname, 157, 100, 'latin1');
  b.write('ustar\x0000', 257, 8, 'latin1');
  if (f.uname) b.write(f.uname, 265, 32, 'latin1');
  if (f.gname) b.write(f.gname, 297, 32, 'latin1');
  octal(b, 329, 8, f.devmajor ?? 0);
  octal(b, 337, 8, f.devminor ?? 0);
  // The checksum is computed with its own field as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, at: number, width: number, n: number): void {
  b.write(n.toString(8).padStart(width - 1, '0') + '\0', at, width, 'latin1');
}

/** Printable ASCII that fits the field as is; anything else goes in PAX. */
function fits(s: string, width: number): boolean {
  return s.length <= width && /^[\x20-\x7e]*$/.test(s);
}

/** The ustar field of a name that lives in the PAX header: readers that know PAX ignore it. */
function placeholder(s: string, width: number): string {
  const ascii = s.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length > width ? ascii.slice(-width) : ascii;
}

function printable(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}
