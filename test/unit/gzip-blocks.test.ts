import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { GzipBlocks } from '../../src/pack/gzip-blocks.js';

async function gz(chunks: Buffer[], width?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), new GzipBlocks({ level: 6 }, width), async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  return Buffer.concat(out);
}

/** Split `b` into pieces of the given sizes, cycling. */
function pieces(b: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < b.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('gzip in fixed blocks', () => {
  // 3.5 blocks: part random (incompressible), part text (compressible).
  const input = Buffer.concat([randomBytes(1 << 20), Buffer.from('slim '.repeat(500_000)), randomBytes(300_000)]);

  it('decompresses to the input, with Node and with gzip(1)', async () => {
    const out = await gz([input]);
    expect(gunzipSync(out).equals(input)).toBe(true);
    expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 1 << 26 }).equals(input)).toBe(true);
    expect(out.length).toBeLessThan(input.length);
  });

  it('gives the same bytes however the input arrives and however many blocks compress at once', async () => {
    const whole = sha(await gz([input]));
    expect(sha(await gz(pieces(input, [1, 4095, 65536, 7])))).toBe(whole);
    expect(sha(await gz(pieces(input, [1 << 20]), 1))).toBe(whole);
    expect(sha(await gz([input], 8))).toBe(whole);
  });

  it('one member per block: a stream of members, each a gzip of its own', async () => {
    const out = await gz([input]);
    // Every member starts with the gzip magic and deflate method; 4 blocks, 4 members.
    let members = 0;
    for (let i = out.indexOf(Buffer.from([0x1f, 0x8b, 0x08])); i >= 0; i = out.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)) members++;
    expect(members).toBeGreaterThanOrEqual(4);
  });

  it('an empty input is an empty gzip stream, not nothing', async () => {
    const out = await gz([]);
    expect(out.length).toBeGreaterThan(0);
    expect(gunzipSync(out).length).toBe(0);
  });
});
