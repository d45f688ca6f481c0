import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePax, encodePax } from '../../src/tar/pax.js';
import { readLayers } from '../helpers/layers.js';
import { Selection } from '../../src/closure/selection.js';
import { planPack } from '../../src/pack/plan.js';
import { writeLayer } from '../../src/pack/layer-writer.js';
import type { ImageConfig } from '../../src/image/types.js';

let cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slim-pax-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** GNU tar and libcap's setcap/getcap (Debian: tar, libcap2-bin; scripts/setup.sh installs them): tools we did not write. */
function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { encoding: 'latin1', ...(cwd ? { cwd } : {}) });
}

const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } };

describe('PAX records as bytes', () => {
  it('round-trips binary values and gets the self-counting length right at digit boundaries', () => {
    const records: Record<string, string> = {
      'SCHILY.xattr.security.capability': '\x01\x00\x00\x02\x00\x20\x00\x80\xff\x00\x00\x00\n=',
      path: 'caf\xe9/' + 'n'.repeat(120),
      a: '1234', // "9 a=1234\n" is 9 bytes: one digit
      b: '12345', // "11 b=12345\n": adding the digit makes two
    };
    const buf = encodePax(records);
    expect(decodePax(buf)).toEqual(records);
    expect(buf.toString('latin1')).toContain('9 a=1234\n11 b=12345\n');
  });

  it('stops at malformed records instead of reading past them', () => {
    expect(decodePax(Buffer.from('9 a=1234\n99 b=short\n'))).toEqual({ a: '1234' });
    expect(decodePax(Buffer.from('x a=1\n'))).toEqual({});
    expect(decodePax(Buffer.from('6 a=1X'))).toEqual({});
  });
});

describe('capabilities and names through a real tar', () => {
  it('reads a file capability GNU tar wrote, writes it back, and GNU tar restores it', async () => {
    const dir = workDir();
    mkdirSync(join(dir, 'src/bin'), { recursive: true });
    copyFileSync('/bin/true', join(dir, 'src/bin/ping'));
    // cap_setfcap is bit 31: its byte is 0x80, which UTF-8 decoding would have mangled.
    sh('setcap', ['cap_net_raw,cap_setfcap+ep', join(dir, 'src/bin/ping')]);
    sh('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-cf', join(dir, 'in.tar'), '-C', join(dir, 'src'), '.']);

    const read = await readLayers([readFileSync(join(dir, 'in.tar'))]);
    cleanups.push(read.cleanup);
    const cap = read.index.get('/bin/ping')!.meta.xattrs?.['security.capability'];
    expect(cap).toBeDefined();
    const bytes = Buffer.from(cap!, 'latin1');
    expect(bytes.length).toBe(20); // VFS_CAP_REVISION_2
    expect(bytes.readUInt32LE(4)).toBe(((1 << 13) | (1 << 31)) >>> 0); // permitted: net_raw, setfcap

    const sel = new Selection();
    for (const e of read.index.sorted()) sel.add(e.path, { why: 'traced' });
    const layer = await writeLayer(planPack(read.index, sel, config, { provenance: { sourceName: 'x', sourceDigest: 'sha256:' + '0'.repeat(64), slimVersion: '0', probe: 'strace' } }), read.spool, join(dir, 'out.tgz'), new AbortController().signal);
    mkdirSync(join(dir, 'back'));
    sh('tar', ['--xattrs', '--xattrs-include=*', '-xzf', layer.path, '-C', join(dir, 'back')]);
    expect(sh('getcap', [join(dir, 'back/bin/ping')])).toMatch(/cap_net_raw,cap_setfcap=ep/);
  });

  it('writes names that are not UTF-8 and names over 100 bytes, byte for byte, as GNU tar reads them', async () => {
    const dir = workDir();
    const long = 'd/' + 'n'.repeat(150);
    const src = join(dir, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    // Made by the kernel from raw bytes: 0xE9 alone is not UTF-8.
    const latin = Buffer.from('caf\xe9.txt', 'latin1');
    execFileSync('python3', ['-c', `import os,sys; open(os.path.join(b'${src}', bytes.fromhex('${latin.toString('hex')}')), 'wb').write(b'x'); open('${join(src, long)}', 'w').write('y'); os.symlink(bytes.fromhex('${latin.toString('hex')}'), os.path.join(b'${src}', b'link'))`]);
    sh('tar', ['--format=posix', '-cf', join(dir, 'in.tar'), '-C', src, '.']);
    const read = await readLayers([readFileSync(join(dir, 'in.tar'))]);
    cleanups.push(read.cleanup);
    expect(read.index.has('/caf\xe9.txt')).toBe(true);
    expect(read.index.get('/link')).toMatchObject({ kind: 'symlink', target: 'caf\xe9.txt' });
    expect(read.index.has('/' + long)).toBe(true);

    const sel = new Selection();
    for (const e of read.index.sorted()) sel.add(e.path, { why: 'traced' });
    const layer = await writeLayer(planPack(read.index, sel, config, { provenance: { sourceName: 'x', sourceDigest: 'sha256:' + '0'.repeat(64), slimVersion: '0', probe: 'strace' } }), read.spool, join(dir, 'out.tgz'), new AbortController().signal);
    mkdirSync(join(dir, 'back'));
    sh('tar', ['-xzf', layer.path, '-C', join(dir, 'back')]);
    const names = readdirSync(join(dir, 'back'), { encoding: 'buffer' }).map((b) => b.toString('latin1')).sort();
    expect(names).toEqual(['caf\xe9.txt', 'd', 'link']);
    expect(readdirSync(join(dir, 'back/d'))).toEqual(['n'.repeat(150)]);
    expect(Buffer.from(sh('readlink', [join(dir, 'back/link')]).trim(), 'latin1')).toEqual(latin);
  });
});
