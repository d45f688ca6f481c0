import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseTraceLine, parseTraceText, readTraceFile, serialiseRecord } from '../../src/trace/jsonl.js';
import type { AccessRecord } from '../../src/trace/record.js';

const allBytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');

describe('serialiseRecord / parseTraceLine', () => {
  it('round-trips a path and a resolved path holding every byte value', () => {
    const path = '/' + allBytes.replace(/\//g, '');
    const r: AccessRecord = { pid: 1, op: 'open', path, resolved: '/x/' + allBytes, ok: true, via: 'fanotify' };
    const line = serialiseRecord(r);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^[\x20-\x7e]*$/); // pure printable ASCII: the file reads the same in any ASCII-compatible decoding
    expect(parseTraceLine(line)).toEqual(r);
  });

  it.each<[string, AccessRecord]>([
    ['a failure', { pid: 2, op: 'stat', path: '/a', ok: false, err: 'ENOENT', via: 'strace' }],
    ['every op', { pid: 3, op: 'readlink', path: '/proc/self/exe', ok: true, via: 'strace' }],
    ['an empty path (the sensor’s overflow marker)', { pid: 0, op: 'other', path: '', ok: false, err: 'OVERFLOW', via: 'fanotify' }],
  ])('round-trips %s', (_n, r) => {
    expect(parseTraceLine(serialiseRecord(r))).toEqual(r);
  });

  it('round-trips each op', () => {
    for (const op of ['open', 'exec', 'stat', 'access', 'readlink', 'list', 'create', 'write', 'chdir', 'other'] as const) {
      const r: AccessRecord = { pid: 9, op, path: '/p', ok: true, via: 'strace' };
      expect(parseTraceLine(serialiseRecord(r))).toEqual(r);
    }
  });

  it('writes the sensor’s format, fields in its order, bytes >= 0x7f as \\u00XX', () => {
    expect(serialiseRecord({ pid: 123, op: 'open', path: '/usr/lib/x86_64-linux-gnu/libc.so.6', ok: true, via: 'fanotify' })).toBe(
      '{"pid":123,"op":"open","path":"/usr/lib/x86_64-linux-gnu/libc.so.6","ok":true,"via":"fanotify"}',
    );
    expect(serialiseRecord({ pid: 1, op: 'exec', path: '/caf\xe9\x7f\x01', resolved: '/r', ok: false, err: 'EACCES', via: 'strace' })).toBe(
      '{"pid":1,"op":"exec","path":"/caf\\u00e9\\u007f\\u0001","resolved":"/r","ok":false,"err":"EACCES","via":"strace"}',
    );
  });

  it('reads what the sensor writes', () => {
    expect(parseTraceLine('{"pid":7,"op":"exec","path":"/caf\\u00e9","ok":true,"via":"fanotify"}')).toEqual({ pid: 7, op: 'exec', path: '/caf\xe9', ok: true, via: 'fanotify' });
    expect(parseTraceLine('{"pid":0,"op":"other","path":"","ok":false,"err":"OVERFLOW","via":"fanotify"}')).toEqual({ pid: 0, op: 'other', path: '', ok: false, err: 'OVERFLOW', via: 'fanotify' });
  });

  it('reads raw bytes in a line decoded as latin1 as those bytes', () => {
    const raw = Buffer.concat([Buffer.from('{"pid":1,"op":"open","path":"/d'), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from('","ok":true,"via":"strace"}')]);
    expect(parseTraceLine(raw.toString('latin1'))?.path).toBe('/d\xc3\xa9\xff');
  });

  it('ignores fields it does not know, and whitespace around the object', () => {
    expect(parseTraceLine(' {"pid":1,"op":"open","path":"/x","ok":true,"via":"strace","ts":12.5}\r')).toEqual({ pid: 1, op: 'open', path: '/x', ok: true, via: 'strace' });
  });

  it.each([
    ['an empty line', ''],
    ['not JSON', '{"pid":1,'],
    ['a JSON string', '"x"'],
    ['null', 'null'],
    ['an array', '[1,2]'],
    ['two objects on a line', '{"pid":1,"op":"open","path":"/x","ok":true,"via":"strace"}{}'],
    ['unknown op', '{"pid":1,"op":"mmap","path":"/x","ok":true,"via":"strace"}'],
    ['op in the wrong case', '{"pid":1,"op":"OPEN","path":"/x","ok":true,"via":"strace"}'],
    ['no pid', '{"op":"open","path":"/x","ok":true,"via":"strace"}'],
    ['pid a string', '{"pid":"1","op":"open","path":"/x","ok":true,"via":"strace"}'],
    ['pid negative', '{"pid":-1,"op":"open","path":"/x","ok":true,"via":"strace"}'],
    ['pid fractional', '{"pid":1.5,"op":"open","path":"/x","ok":true,"via":"strace"}'],
    ['no path', '{"pid":1,"op":"open","ok":true,"via":"strace"}'],
    ['path a number', '{"pid":1,"op":"open","path":7,"ok":true,"via":"strace"}'],
    ['a character above U+00FF in the path', '{"pid":1,"op":"open","path":"/\\u20ac","ok":true,"via":"strace"}'],
    ['a raw character above U+00FF in the path', '{"pid":1,"op":"open","path":"/\u20ac","ok":true,"via":"strace"}'],
    ['a character above U+00FF in resolved', '{"pid":1,"op":"open","path":"/x","resolved":"/\\u0100","ok":true,"via":"strace"}'],
    ['resolved null', '{"pid":1,"op":"open","path":"/x","resolved":null,"ok":true,"via":"strace"}'],
    ['ok not boolean', '{"pid":1,"op":"open","path":"/x","ok":"yes","via":"strace"}'],
    ['no ok', '{"pid":1,"op":"open","path":"/x","via":"strace"}'],
    ['err a number', '{"pid":1,"op":"open","path":"/x","ok":false,"err":2,"via":"strace"}'],
    ['bad via', '{"pid":1,"op":"open","path":"/x","ok":true,"via":"ebpf"}'],
    ['no via', '{"pid":1,"op":"open","path":"/x","ok":true}'],
  ])('rejects %s, without throwing', (_n, line) => {
    expect(parseTraceLine(line)).toBeUndefined();
  });
});

describe('parseTraceText', () => {
  const good = serialiseRecord({ pid: 2, op: 'stat', path: '/a', ok: false, err: 'ENOENT', via: 'strace' });

  it('keeps the good lines, counts the bad ones, ignores blank ones and CRLF', () => {
    const { records, badLines } = parseTraceText([good, 'junk', '', '  ', good + '\r', '{"pid":1}'].join('\n') + '\n');
    expect(records).toEqual([
      { pid: 2, op: 'stat', path: '/a', ok: false, err: 'ENOENT', via: 'strace' },
      { pid: 2, op: 'stat', path: '/a', ok: false, err: 'ENOENT', via: 'strace' },
    ]);
    expect(badLines).toBe(2);
  });

  it('takes a promise of the text too', async () => {
    await expect(parseTraceText(Promise.resolve(good))).resolves.toEqual({ records: [parseTraceLine(good)], badLines: 0 });
  });
});

describe('readTraceFile', () => {
  const recs: AccessRecord[] = [
    { pid: 1, op: 'exec', path: '/bin/s\xe9h', ok: true, via: 'fanotify' },
    { pid: 2, op: 'open', path: '/' + allBytes.replace(/\//g, ''), resolved: '/r', ok: true, via: 'strace' },
    { pid: 3, op: 'access', path: '/x', ok: false, err: 'EACCES', via: 'strace' },
  ];
  const file = Buffer.from(recs.map(serialiseRecord).join('\n') + '\nnot json\n\n' + serialiseRecord(recs[0]!), 'latin1'); // last line without newline

  it('yields the records of a stream cut into chunks anywhere, counting bad lines', async () => {
    for (const size of [1, 2, 7, 64, file.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < file.length; i += size) chunks.push(file.subarray(i, i + size));
      const counts = { badLines: 0 };
      const got: AccessRecord[] = [];
      for await (const r of readTraceFile(Readable.from(chunks), counts)) got.push(r);
      expect(got).toEqual([...recs, recs[0]]);
      expect(counts.badLines).toBe(1);
    }
  });

  it('decodes raw bytes as latin1 and returns the count when done', async () => {
    const raw = Buffer.concat([Buffer.from('{"pid":1,"op":"open","path":"/'), Buffer.from([0xe2, 0x82, 0xac]), Buffer.from('","ok":true,"via":"fanotify"}\n{oops\n')]);
    const it = readTraceFile(Readable.from([raw]));
    const first = await it.next();
    expect(first.value).toEqual({ pid: 1, op: 'open', path: '/\xe2\x82\xac', ok: true, via: 'fanotify' });
    expect(await it.next()).toEqual({ done: true, value: { badLines: 1 } });
  });

  it('reads an empty stream', async () => {
    const got: AccessRecord[] = [];
    for await (const r of readTraceFile(Readable.from([]))) got.push(r);
    expect(got).toEqual([]);
  });
});
