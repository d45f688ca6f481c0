import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SlimError } from '../../src/errors.js';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import type { FileEntry } from '../../src/rootfs/entry.js';
import type { FileIndex } from '../../src/rootfs/file-index.js';
import type { ContentSpool } from '../../src/sources/content-spool.js';
import { UnsafeImageError } from '../../src/errors.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function flat(...layers: Spec[][]): Promise<{ index: FileIndex; spool: ContentSpool }> {
  const r = await readLayers(await Promise.all(layers.map((l) => mkLayer(l))));
  cleanups.push(r.cleanup);
  return r;
}

const paths = (index: FileIndex) => index.sorted().map((e) => e.path);
async function body(index: FileIndex, spool: ContentSpool, p: string): Promise<string> {
  const e = index.get(p) as FileEntry & { kind: 'file' };
  expect(e?.kind).toBe('file');
  return (await spool.read(e)).toString();
}

describe('flatten', () => {
  it('applies layers base first, later files replacing earlier ones', async () => {
    const { index, spool } = await flat(
      [{ path: 'etc/' }, { path: 'etc/a', body: 'one' }, { path: 'etc/b', body: 'keep' }],
      [{ path: 'etc/a', body: 'two', mode: 0o600, uid: 5 }],
    );
    expect(paths(index)).toEqual(['/etc', '/etc/a', '/etc/b']);
    expect(await body(index, spool, '/etc/a')).toBe('two');
    expect(index.get('/etc/a')!.meta).toMatchObject({ mode: 0o600, uid: 5, layer: 1 });
    expect(await body(index, spool, '/etc/b')).toBe('keep');
  });

  it('whiteouts hide files and whole directories of lower layers', async () => {
    const { index } = await flat(
      [{ path: 'a/' }, { path: 'a/x', body: '1' }, { path: 'd/' }, { path: 'd/sub/' }, { path: 'd/sub/f', body: '2' }],
      [{ path: 'a/.wh.x', body: '' }, { path: '.wh.d', body: '' }],
    );
    expect(paths(index)).toEqual(['/a']);
  });

  it('a whiteout does not hide an entry added by the same layer, in either order', async () => {
    const { index } = await flat(
      [{ path: 'a/' }, { path: 'a/x', body: 'old' }],
      [{ path: 'a/x', body: 'new' }, { path: 'a/.wh.x', body: '' }],
    );
    expect(paths(index)).toEqual(['/a', '/a/x']);
  });

  it('an opaque directory hides only what lower layers put in it', async () => {
    const { index } = await flat(
      [{ path: 'o/' }, { path: 'o/old', body: '1' }, { path: 'o/sub/' }, { path: 'o/sub/deep', body: '2' }],
      [{ path: 'o/new', body: '3' }, { path: 'o/.wh..wh..opq', body: '' }],
    );
    expect(paths(index)).toEqual(['/o', '/o/new']);
  });

  it('replaces a file by a directory, a directory by a symlink, and back', async () => {
    const { index } = await flat(
      [{ path: 'x', body: 'file' }, { path: 'y/' }, { path: 'y/inner', body: 'i' }],
      [{ path: 'x/' }, { path: 'x/child', body: 'c' }, { path: 'y', type: 'symlink', linkname: 'x' }],
      [{ path: 'x', body: 'file again' }],
    );
    expect(paths(index)).toEqual(['/x', '/y']);
    expect(index.get('/x')!.kind).toBe('file');
    expect(index.get('/y')).toMatchObject({ kind: 'symlink', target: 'x' });
  });

  it('binds hard links to the inode they point at, also across layers', async () => {
    const { index, spool } = await flat(
      [{ path: 'bin/' }, { path: 'bin/a', body: 'same bytes', mode: 0o4755 }],
      [{ path: 'bin/b', type: 'link', linkname: 'bin/a' }],
      [{ path: 'bin/a', body: 'replaced' }],
    );
    const a = index.get('/bin/a') as FileEntry & { kind: 'file' };
    const b = index.get('/bin/b') as FileEntry & { kind: 'file' };
    expect(b.kind).toBe('file');
    expect(b.inode).not.toBe(a.inode);
    expect(await body(index, spool, '/bin/b')).toBe('same bytes');
    expect(b.meta.mode).toBe(0o4755);
    expect(await body(index, spool, '/bin/a')).toBe('replaced');
  });

  it('keeps device nodes, fifos and setuid bits', async () => {
    const { index } = await flat([
      { path: 'dev/' },
      { path: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'run/' },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
      { path: 'usr/' },
      { path: 'usr/bin/' },
      { path: 'usr/bin/su', body: 'x', mode: 0o4755 },
    ]);
    expect(index.get('/dev/null')).toMatchObject({ kind: 'char', major: 1, minor: 3 });
    expect(index.get('/run/fifo')).toMatchObject({ kind: 'fifo' });
    expect(index.get('/usr/bin/su')!.meta.mode).toBe(0o4755);
  });

  it('reads long names and gzip layers', async () => {
    const long = 'a/' + 'n'.repeat(180) + '/file-with-a-long-name-' + 'z'.repeat(90);
    const gz = await mkLayer([{ path: 'a/' }, { path: long, body: 'deep' }], { gzip: true });
    const r = await readLayers([gz]);
    cleanups.push(r.cleanup);
    expect(r.index.get('/' + long)?.kind).toBe('file');
  });

  it('reads zstd layers (as docker save of a containerd image store may give them), bytes intact', async () => {
    const big = randomBytes(3 << 20);
    const plain = await mkLayer([{ path: 'data/' }, { path: 'data/big.bin', body: big }, { path: 'data/note', body: 'hello' }, { path: 'data/link', type: 'symlink', linkname: 'note' }]);
    const zst = execFileSync('zstd', ['-q', '-c', '-3'], { input: plain, maxBuffer: 64 << 20 });
    expect(zst.readUInt32LE(0)).toBe(0xfd2fb528);
    const r = await readLayers([zst]);
    cleanups.push(r.cleanup);
    const e = r.index.get('/data/big.bin')!;
    expect(e.kind === 'file' && (await r.spool.read(e)).equals(big)).toBe(true);
    expect(r.index.resolve('/data/link').entry?.kind).toBe('file');
    // A damaged zstd stream is a clear error, not a hang or a partial image.
    const cut = Buffer.from(zst.subarray(0, zst.length >> 1));
    await expect(readLayers([cut])).rejects.toThrow(/^layer 0 is not a readable tar archive: /);
    // ...and leaves no zstd process behind.
    await new Promise((r) => setTimeout(r, 200));
    expect(spawnSync('pgrep', ['-x', '-P', String(process.pid), 'zstd']).stdout.toString()).toBe('');
  });

  it('without the zstd program (and no zstd in Node), a zstd layer is a one-line error that says what to install', async () => {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: await mkLayer([{ path: 'f', body: 'x' }]) });
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const err = (await readLayers([zst]).then(() => undefined, (e: unknown) => e)) as SlimError;
      expect(err).toBeInstanceOf(SlimError);
      expect(err.message).toBe('layer 0 is zstd-compressed and this Node has no zstd; the zstd program is needed');
      expect(err.hint).toMatch(/apt-get install zstd/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('keeps names that are not UTF-8 byte for byte', async () => {
    const name = 'caf\xe9.txt'; // latin1 byte string: 0xE9 alone is not UTF-8
    // tar-stream writes header names as UTF-8, so write the raw name bytes into the header here.
    const layer = Buffer.from(await mkLayer([{ path: 'x'.repeat(name.length), body: 'b' }]));
    layer.write(name, 0, 'latin1');
    layer.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += layer[i]!;
    layer.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const r = await readLayers([layer]);
    cleanups.push(r.cleanup);
    expect(r.index.sorted().map((e) => e.path)).toEqual(['/' + name]);
  });

  it('resolves symlinks inside the image, clamping .. at the root', async () => {
    const { index } = await flat([
      { path: 'usr/' },
      { path: 'usr/lib/' },
      { path: 'usr/lib/libc.so.6', body: 'elf' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { path: 'escape', type: 'symlink', linkname: '../../../usr/lib/libc.so.6' },
    ]);
    const r = index.resolve('/lib/libc.so.6');
    expect(r.real).toBe('/usr/lib/libc.so.6');
    expect(r.links).toEqual(['/lib']);
    expect(index.resolve('/escape').real).toBe('/usr/lib/libc.so.6');
    const missing = index.resolve('/lib/nothing/here');
    expect(missing.entry).toBeUndefined();
    expect(missing.lastDir).toBe('/usr/lib');
  });

  it('places entries below a symlinked directory where the link leads, inside the image', async () => {
    const { index } = await flat(
      [{ path: 'usr/' }, { path: 'usr/lib/' }, { path: 'lib', type: 'symlink', linkname: '/usr/lib' }],
      [{ path: 'lib/extra.so', body: 'x' }],
    );
    expect(index.get('/usr/lib/extra.so')?.kind).toBe('file');
    expect(index.get('/lib')?.kind).toBe('symlink');
  });

  it.each([
    ['../etc/passwd'],
    ['a/../../etc/shadow'],
  ])('rejects the entry name %s that climbs out of the root', async (name) => {
    await expect(flat([{ path: name, body: 'x' }])).rejects.toThrow(UnsafeImageError);
    await expect(flat([{ path: name, body: 'x' }])).rejects.toThrow(/climbs out of the image root/);
  });

  it('rejects a hard link to something that is not in the image', async () => {
    await expect(flat([{ path: 'x', type: 'link', linkname: 'nowhere' }])).rejects.toThrow(/hard link "x" points at "nowhere"/);
  });

  it('rejects a hard link whose target climbs out', async () => {
    await expect(flat([{ path: 'x', type: 'link', linkname: '../../etc/passwd' }])).rejects.toThrow(UnsafeImageError);
  });
});
