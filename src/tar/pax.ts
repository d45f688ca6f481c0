import tar from 'tar-stream';
import { InternalError } from '../errors.js';

/**
 * PAX extended headers as bytes. tar-stream reads and writes PAX values as UTF-8 text, which
 * mangles binary values (`SCHILY.xattr.security.capability`) and names that are not UTF-8. Here
 * values are byte strings (one character per byte, latin1), like every path in slim.
 */
export type PaxRecords = Record<string, string>;

/** `LEN key=value\n` records; LEN counts bytes, itself included. Malformed input ends the parse. */
export function decodePax(buf: Buffer): PaxRecords {
  const out: PaxRecords = {};
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(buf.toString('latin1', at, space));
    if (!Number.isInteger(len) || len <= space - at + 1 || at + len > buf.length || buf[at + len - 1] !== 0x0a) break;
    const record = buf.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out[record.toString('latin1', 0, eq)] = record.toString('latin1', eq + 1);
    at += len;
  }
  return out;
}

export function encodePax(records: PaxRecords): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), Buffer.from(value, 'latin1'), Buffer.from('\n')]);
    // The length prefix counts its own digits: grow it until it fits.
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len), 'latin1'), body);
  }
  return Buffer.concat(parts);
}

type ExtractInternals = {
  _decodeLongHeader?: (buf: Buffer) => void;
  _header: { type: string };
  _pax: PaxRecords | null;
  _paxGlobal: PaxRecords | null;
};

/**
 * A tar-stream extractor that reads names as bytes and PAX headers with `decodePax`. It hooks the
 * one internal method that decodes long headers: the check below fails loudly if a tar-stream
 * release renames it, rather than silently mangling capabilities again.
 */
export function byteExact(): tar.Extract {
  const ex = tar.extract({ filenameEncoding: 'latin1' } as Parameters<typeof tar.extract>[0]);
  const internals = ex as unknown as ExtractInternals;
  const original = internals._decodeLongHeader;
  if (typeof original !== 'function') throw new InternalError('this tar-stream version has no _decodeLongHeader: binary PAX headers cannot be read');
  internals._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
    if (this._header.type === 'pax-global-header') this._paxGlobal = decodePax(buf);
    else if (this._header.type === 'pax-header') this._pax = { ...(this._paxGlobal ?? {}), ...decodePax(buf) };
    else original.call(this, buf);
  };
  return ex;
}
