import { describe, expect, it } from 'vitest';
import { parseTraceLine, parseTraceText, serialiseRecord } from '../../src/trace/jsonl.js';
import type { AccessRecord } from '../../src/trace/record.js';

describe('trace JSON Lines', () => {
  it('round-trips a path holding every byte value', () => {
    const path = '/' + Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('').replace(/\//g, '');
    const r: AccessRecord = { pid: 1, op: 'open', path, resolved: path + '.real', ok: true, via: 'fanotify' };
    const line = serialiseRecord(r);
    expect(line).not.toContain('\n');
    expect(parseTraceLine(line)).toEqual(r);
  });

  it('reads what the sensor writes (bytes >= 0x80 as \\u00XX)', () => {
    expect(parseTraceLine('{"pid":7,"op":"exec","path":"/caf\\u00e9","ok":true,"via":"fanotify"}')).toEqual({ pid: 7, op: 'exec', path: '/caf\xe9', ok: true, via: 'fanotify' });
  });

  it.each([
    ['not JSON', '{"pid":1,'],
    ['unknown op', '{"pid":1,"op":"mmap","path":"/x","ok":true,"via":"strace"}'],
    ['no pid', '{"op":"open","path":"/x","ok":true,"via":"strace"}'],
    ['a character above U+00FF', '{"pid":1,"op":"open","path":"/\\u20ac","ok":true,"via":"strace"}'],
    ['bad via', '{"pid":1,"op":"open","path":"/x","ok":true,"via":"ebpf"}'],
    ['ok not boolean', '{"pid":1,"op":"open","path":"/x","ok":"yes","via":"strace"}'],
    ['an array', '[1,2]'],
  ])('rejects %s', (_n, line) => {
    expect(parseTraceLine(line)).toBeUndefined();
  });

  it('counts bad lines and keeps the good ones', async () => {
    const good = serialiseRecord({ pid: 2, op: 'stat', path: '/a', ok: false, err: 'ENOENT', via: 'strace' });
    const { records, badLines } = await parseTraceText([good, 'junk', '', good].join('\n'));
    expect(records).toHaveLength(2);
    expect(badLines).toBe(1);
  });
});
