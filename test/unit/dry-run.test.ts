import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/rootfs/flatten.js';
import { dir, file, hardlink } from '../helpers/tar-entries.js';
import { dryRunFigures, dryRunQuietLine, renderDryRun, type DryRunReport } from '../../src/report/dry-run.js';
import type { ImagePath } from '../../src/rootfs/entry.js';

const index = flatten([
  [
    dir('app/'), file('app/run', 3000, 0o755), file('app/big.bin', 9000),
    dir('usr/'), dir('usr/lib/'), dir('usr/lib/x/'), file('usr/lib/x/libc.so', 20000), dir('usr/share/'), dir('usr/share/doc/'), file('usr/share/doc/README', 50000),
    dir('etc/'), file('etc/passwd', 40), hardlink('etc/passwd.link', 'etc/passwd'),
  ],
]);
const keptPaths = new Set(['/app', '/app/run', '/usr', '/usr/lib', '/usr/lib/x', '/usr/lib/x/libc.so', '/etc', '/etc/passwd.link']);
const kept = { has: (p: ImagePath) => keptPaths.has(p), size: keptPaths.size };
const packages = new Map([['libc6', ['/usr/lib/x/libc.so']], ['base-files', ['/etc/passwd', '/etc/passwd.link', '/usr/share/doc/README']]]) as Map<string, ImagePath[]>;

describe('dryRunFigures', () => {
  const f = dryRunFigures(index, kept, packages);

  it('counts the kept and removed files and bytes, a hard-linked file once', () => {
    expect(f.kept).toEqual({ entries: 8, files: 3, bytes: 3000 + 20000 + 40 });
    expect(f.removed).toEqual({ files: 2, bytes: 9000 + 50000 });
  });

  it('groups by directory, largest first, the groups adding up to the whole', () => {
    expect(f.dirs.groups.map((g) => g.path)).toEqual(['/usr/share', '/usr/lib', '/app', '/etc']);
    expect(f.dirs.groups.find((g) => g.path === '/usr/lib')).toEqual({ path: '/usr/lib', kept: 20000, removed: 0 });
    expect(f.dirs.groups.reduce((s, g) => s + g.kept, 0)).toBe(f.kept.bytes);
    expect(f.dirs.groups.reduce((s, g) => s + g.removed, 0)).toBe(f.removed.bytes);
  });

  it('groups by the owning package, the rest as no package', () => {
    expect(f.packages).toEqual([
      { name: 'base-files', kept: 40, removed: 50000 },
      { name: 'libc6', kept: 20000, removed: 0 },
      { name: '(no package)', kept: 3000, removed: 9000 },
    ]);
    expect(dryRunFigures(index, kept, new Map()).packages).toBeNull();
  });

  it('keeps the largest directories only when there are many', () => {
    expect(dryRunFigures(index, kept, null, { top: 2 }).dirs.groups.map((g) => g.path)).toEqual(['/usr/share', '/usr/lib']);
  });
});

describe('the dry run in text', () => {
  const f = dryRunFigures(index, kept, packages);
  const report: DryRunReport = {
    schema: 'slim.report/v1', status: 'dry-run',
    input: { ref: 'app:1', id: 'sha256:' + 'a'.repeat(64), size: 82040, files: 5, layers: 1 },
    probe: { backend: 'strace', records: 9, distinctPaths: 4, skippedLines: 0, check: 'the check passed' },
    closure: { kept: 8, byReason: { traced: 3, parent: 5 }, presets: {}, packages: [], excluded: 0, warnings: [] },
    ...f,
    projected: { size: f.kept.bytes, sizeRatio: 82040 / f.kept.bytes, estimate: 'sum of kept files, before compression' },
    timings: { read: 1, probe: 2, closure: 0.5, total: 3.5 },
  };

  it('says nothing was made, the projected size as an estimate, and the groups', () => {
    const text = renderDryRun(report);
    expect(text).toMatch(/dry run of app:1: nothing was packed, loaded, verified or written/);
    expect(text).toMatch(/projected 23\.0 kB \(3\.6x smaller than 82\.0 kB; an estimate: the sum of kept files, before compression\)/);
    expect(text).toMatch(/20\.0 kB kept\s+0 B removed\s+100% kept\s+\/usr\/lib\n/);
    expect(text).toMatch(/by package[^\n]*\n\s+40 B kept\s+50\.0 kB removed\s+0% kept\s+base-files/);
    expect(dryRunQuietLine(report)).toBe('slim: dry run of app:1: would keep 3 files, 23.0 kB (estimate, before compression; 82.0 kB now), remove 2 files, 59.0 kB');
  });
});
