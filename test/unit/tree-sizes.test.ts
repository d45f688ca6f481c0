import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/rootfs/flatten.js';
import { dir, file, hardlink, symlink } from '../helpers/tar-entries.js';
import { NO_PACKAGE, treeSizes, type SizeNode } from '../../src/report/tree-sizes.js';

const index = flatten([
  [
    dir('app/'), file('app/run', 30, 0o755), file('app/data.bin', 970),
    dir('usr/'), dir('usr/bin/'), file('usr/bin/ls', 100, 0o755), file('usr/bin/cat', 50, 0o755), symlink('bin', 'usr/bin'),
    dir('usr/lib/'), dir('usr/lib/x86_64-linux-gnu/'), dir('usr/lib/x86_64-linux-gnu/deep/'), file('usr/lib/x86_64-linux-gnu/deep/libz.so', 400), file('usr/lib/x86_64-linux-gnu/libc.so', 2000),
    dir('usr/share/'), dir('usr/share/doc/'), file('usr/share/doc/README', 5000), file('usr/share/tiny', 1),
    dir('etc/'), file('etc/passwd', 40), hardlink('etc/passwd.link', 'etc/passwd'),
    dir('data/'), file('data/h1', 600), hardlink('data/h2', 'data/h1'), file('top-level-file', 9),
  ],
]);
const kept = new Set(['/app', '/app/run', '/usr', '/usr/bin', '/usr/bin/ls', '/usr/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu/libc.so', '/etc', '/etc/passwd.link', '/data', '/data/h2']);

const find = (n: SizeNode, path: string): SizeNode | undefined => (n.path === path ? n : n.children?.map((c) => find(c, path)).find(Boolean));

/** Every node's children add up to it, kept and removed alike. */
function expectSums(n: SizeNode): void {
  if (!n.children) return;
  expect(n.children.reduce((s, c) => s + c.kept, 0), n.path).toBe(n.kept);
  expect(n.children.reduce((s, c) => s + c.removed, 0), n.path).toBe(n.removed);
  n.children.forEach(expectSums);
}

describe('treeSizes', () => {
  const t = treeSizes(index, kept, null, { minShare: 0 });

  it('counts every byte of the original once, split into kept and removed', () => {
    expect(t.dirs.kept + t.dirs.removed).toBe(index.stats().bytes);
    expect(t.dirs.kept).toBe(30 + 100 + 2000 + 40 + 600);
    expectSums(t.dirs);
  });

  it('counts a hard-linked file once, as kept when any of its links is', () => {
    expect(find(t.dirs, '/etc')).toMatchObject({ kept: 40, removed: 0 });
    expect(find(t.dirs, '/data')).toMatchObject({ kept: 600, removed: 0 });
  });

  it('stops at the depth, with a directory own files as one child', () => {
    expect(t.depth).toBe(3);
    const gnu = find(t.dirs, '/usr/lib/x86_64-linux-gnu')!;
    expect(gnu).toEqual({ path: '/usr/lib/x86_64-linux-gnu', kind: 'dir', kept: 2000, removed: 400 });
    expect(find(t.dirs, '/*')).toEqual({ path: '/*', kind: 'files', kept: 0, removed: 9 });
    expect(find(t.dirs, '/usr/share')!.children!.map((c) => c.path)).toEqual(['/usr/share/doc', '/usr/share/*']);
    expect(treeSizes(index, kept, null, { depth: 1 }).dirs.children!.find((c) => c.path === '/usr')).toEqual({ path: '/usr', kind: 'dir', kept: 2100, removed: 5451 });
  });

  it('lumps directories too small to draw, and caps the children of one directory', () => {
    const small = treeSizes(index, kept, null, { minShare: 0.1 });
    expectSums(small.dirs);
    expect(small.dirs.children!.map((c) => c.path)).toEqual(['/usr', '/app', '/*', '/…']);
    expect(find(small.dirs, '/…')).toEqual({ path: '/…', kind: 'other', kept: 640, removed: 0 });
    const capped = treeSizes(index, kept, null, { minShare: 0, maxChildren: 3 });
    expectSums(capped.dirs);
    expect(capped.dirs.children!.map((c) => c.kind)).toEqual(['dir', 'files', 'other']);
  });

  it('splits the bytes by owning package, the first by name when several list a file', () => {
    const packages = new Map([
      ['coreutils', ['/bin/ls', '/bin/cat']],
      ['libc6', ['/usr/lib/x86_64-linux-gnu/libc.so', '/bin/ls']],
      ['docs', ['/usr/share/doc', '/usr/share/doc/README']],
    ]);
    const p = treeSizes(index, kept, packages).packages!;
    expect(p).toEqual([
      { name: NO_PACKAGE, kept: 670, removed: 1380 },
      { name: 'docs', kept: 0, removed: 5000 },
      { name: 'libc6', kept: 2000, removed: 0 },
      { name: 'coreutils', kept: 100, removed: 50 },
    ].sort((a, b) => b.kept + b.removed - (a.kept + a.removed)));
    expect(p.reduce((s, r) => s + r.kept + r.removed, 0)).toBe(index.stats().bytes);
    const few = treeSizes(index, kept, packages, { maxPackages: 2 }).packages!;
    expect(few.map((r) => r.name)).toEqual(['docs', '(3 more packages)']);
    expect(few[1]).toMatchObject({ kept: 2770, removed: 1430 });
    expect(treeSizes(index, kept, new Map()).packages).toBeNull();
  });
});
