import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/rootfs/flatten.js';
import { dir, file, hardlink, symlink } from '../helpers/tar-entries.js';
import { diffImages, dirAtDepth, NO_PACKAGE } from '../../src/inspect/diff.js';
import { renderDiff } from '../../src/inspect/render.js';

/** A merged-/usr system with coreutils and bash; dpkg lists their programs under /bin, and the directory /bin itself. */
const A = flatten([
  [
    symlink('bin', 'usr/bin'), dir('usr/'), dir('usr/bin/'), file('usr/bin/ls', 100, 0o755), file('usr/bin/cat', 50, 0o755), file('usr/bin/bash', 200, 0o755),
    dir('usr/share/'), dir('usr/share/doc/'), dir('usr/share/doc/coreutils/'), file('usr/share/doc/coreutils/copyright', 30),
    dir('usr/share/doc/bash/'), file('usr/share/doc/bash/README', 40), dir('usr/share/man/'), dir('usr/share/man/man1/'), file('usr/share/man/man1/ls.1.gz', 20),
    dir('etc/'), file('etc/conf', 10), dir('data/'), file('data/h1', 60), hardlink('data/h2', 'data/h1'),
  ],
]);
const packages = new Map([
  ['coreutils', ['/bin/ls', '/bin/cat', '/usr/share/doc/coreutils/copyright', '/usr/share/man/man1/ls.1.gz']],
  ['bash', ['/bin', '/bin/bash', '/usr/share/doc/bash/README']],
]);
/** What a slim variant might keep: no cat, no docs or man pages, /etc/conf rewritten at the same size, and a new /app/new. */
const B = flatten([
  [
    symlink('bin', 'usr/bin'), dir('usr/'), dir('usr/bin/'), file('usr/bin/ls', 100, 0o755), file('usr/bin/bash', 200, 0o755), dir('usr/share/'),
    dir('etc/'), file('etc/conf', 10), dir('data/'), file('data/h1', 60), hardlink('data/h2', 'data/h1'), dir('app/'), file('app/new', 7),
  ],
]);
const input = {
  a: { ref: 'x:1', id: 'sha256:aa', index: A, packages },
  b: { ref: 'x:1-slim', id: 'sha256:bb', index: B },
  contentDiffers: (x: { path: string; size: number }, y: { size: number }) => x.size !== y.size || x.path === '/etc/conf',
};

describe('diff', () => {
  const r = diffImages(input);

  it('totals what B lacks, adds and changed, a hard-linked file once', () => {
    expect(r.schema).toBe('slim.diff/v1');
    expect(r.removed).toEqual({ entries: 9, files: 4, bytes: 50 + 30 + 40 + 20 });
    expect(r.added).toEqual({ entries: 2, files: 1, bytes: 7 });
    expect(r.changed).toEqual({ entries: 1, files: 1, bytes: 10, bytesBefore: 10 });
    // ls, bash, h1, h2 (the bytes of h1 once), and the directories and the /bin link.
    expect(r.unchanged).toEqual({ entries: 10, files: 4, bytes: 100 + 200 + 60 });
    expect(r.a).toMatchObject({ bytes: 100 + 50 + 200 + 30 + 40 + 20 + 10 + 60, files: 9 });
    expect(r.b).toMatchObject({ bytes: 100 + 200 + 10 + 60 + 7, files: 6 });
  });

  it('groups by directory at the given depth, biggest difference first', () => {
    expect(r.dirs!.depth).toBe(3);
    expect(r.dirs!.groups.map((g) => [g.path, g.removed.bytes, g.removed.files, g.removed.entries, g.added.bytes, g.kept.files])).toEqual([
      ['/usr/share/doc', 70, 2, 4, 0, 0],
      ['/usr/bin', 50, 1, 1, 0, 2],
      ['/usr/share/man', 20, 1, 2, 0, 0],
      ['/app', 0, 0, 0, 7, 0],
      ['/usr/share', 0, 0, 2, 0, 0],
      ['/', 0, 0, 0, 0, 0],
    ]);
    const shallow = diffImages({ ...input, depth: 1 });
    expect(shallow.dirs!.groups.map((g) => [g.path, g.removed.bytes])).toEqual([['/usr', 140], ['/app', 0], ['/', 0]]);
  });

  it("attributes A's files to the package that owns them, through the /bin link, which no package owns", () => {
    expect(r.packages).toEqual([
      { name: 'coreutils', files: 4, filesKept: 1, filesRemoved: 3, bytes: 200, bytesKept: 100, bytesRemoved: 100, keptFraction: 0.5 },
      { name: 'bash', files: 2, filesKept: 1, filesRemoved: 1, bytes: 240, bytesKept: 200, bytesRemoved: 40, keptFraction: 200 / 240 },
      // /bin (a link), /etc/conf, /data/h1 and /data/h2 (its bytes once).
      { name: NO_PACKAGE, files: 4, filesKept: 4, filesRemoved: 0, bytes: 70, bytesKept: 70, bytesRemoved: 0, keptFraction: 1 },
    ]);
  });

  it('--by keeps one grouping; without a content check equal sizes count as unchanged', () => {
    const dirsOnly = diffImages({ a: input.a, b: input.b, by: 'dir' });
    expect(dirsOnly.packages).toBeUndefined();
    expect(dirsOnly.dirs).toBeDefined();
    expect(dirsOnly.changed.entries).toBe(0);
    const pkgsOnly = diffImages({ ...input, by: 'package' });
    expect(pkgsOnly.dirs).toBeUndefined();
    expect(pkgsOnly.packages).toHaveLength(3);
  });

  it('counts a mode or kind change as a change', () => {
    const C = flatten([[symlink('bin', 'usr/bin'), dir('usr/'), dir('usr/bin/'), file('usr/bin/ls', 100, 0o4755), symlink('usr/bin/cat', 'ls')]]);
    const d = diffImages({ a: input.a, b: { ref: 'c', id: 'c', index: C }, by: 'dir' });
    expect(d.changed).toEqual({ entries: 2, files: 1, bytes: 100, bytesBefore: 150 });
  });

  it('cuts paths to a directory depth', () => {
    expect(dirAtDepth('/usr/share/doc/x/copyright', 3)).toBe('/usr/share/doc');
    expect(dirAtDepth('/usr/share/doc/x/copyright', 2)).toBe('/usr/share');
    expect(dirAtDepth('/etc/passwd', 3)).toBe('/etc');
    expect(dirAtDepth('/top', 3)).toBe('/');
  });

  it('renders text', () => {
    const text = renderDiff(r);
    expect(text).toMatch(/^ {2}removed {4} +140 B in 4 files \(9 entries\)$/m);
    expect(text).toMatch(/^ +70 B +0 B {2}\/usr\/share\/doc {2}\(files: 2 removed, 0 added, 0 kept; entries: 4 removed, 0 added\)$/m);
    expect(text).toMatch(/^ {4}50% +100 B +1\/4 {2}coreutils$/m);
  });
});
