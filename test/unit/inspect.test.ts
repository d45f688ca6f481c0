import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../src/image/types.js';
import { flatten, type TarEntry } from '../../src/rootfs/flatten.js';
import { dir, file, hardlink, symlink, whiteout } from '../helpers/tar-entries.js';
import { analyseImage } from '../../src/inspect/analyse.js';
import { parseDpkgStatus } from '../../src/packages/dpkg.js';
import { historyOfLayers, instructionOf, replayLayers } from '../../src/inspect/layers.js';
import { renderInspect } from '../../src/inspect/render.js';

const DPKG_STATUS = [
  'Package: bash\nStatus: install ok installed\nVersion: 5.2\nDescription: GNU shell\n the shell\n .\n more',
  'Package: gone\nStatus: deinstall ok config-files\nVersion: 1',
  'Package: coreutils\nStatus: install ok installed\nVersion: 9.1',
  'Package: half\nStatus: install ok half-configured\nVersion: 2',
].join('\n\n') + '\n';

/**
 * Layer 0 is a base; layer 1 deletes /opt/big with a whiteout and /data/x (which lives on as
 * its hard link /data/y); layer 2 overwrites /etc/conf, makes /opt/cache opaque and writes
 * /tmp/dup twice.
 */
function image(): { layers: TarEntry[][]; config: ImageConfig } {
  const layers = [
    [
      dir('etc/'), file('etc/conf', 10), dir('opt/'), file('opt/big', 1000), dir('opt/cache/'), file('opt/cache/a', 200), file('opt/cache/b', 300),
      dir('data/'), file('data/x', 70), hardlink('data/y', 'data/x'),
      dir('usr/'), dir('usr/bin/'), file('usr/bin/bash', 50, 0o755), symlink('usr/bin/sh', 'bash'), file('usr/bin/su', 20, 0o4755), file('usr/bin/wall', 5, 0o2755),
      file('usr/bin/gcc-12', 30, 0o755), file('usr/bin/apt', 40, 0o755), symlink('bin', 'usr/bin'),
      dir('var/'), dir('var/lib/'), dir('var/lib/dpkg/'), file('var/lib/dpkg/status', Buffer.byteLength(DPKG_STATUS)),
    ],
    [whiteout('opt/.wh.big'), whiteout('data/.wh.x')],
    [file('etc/conf', 15), whiteout('opt/cache/.wh..wh..opq'), file('opt/cache/c', 5), dir('tmp/'), file('tmp/dup', 8), file('tmp/dup', 9)],
  ];
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)] as ImageConfig['rootfs']['diff_ids'] },
    history: [
      { created_by: '/bin/sh -c #(nop) ADD file:0123abcd in / ' },
      { created_by: '/bin/sh -c #(nop)  ENV A=1', empty_layer: true },
      { created_by: '/bin/sh -c rm /opt/big /data/x' },
      { created_by: '/bin/sh -c #(nop)  CMD ["bash"]', empty_layer: true },
      { created_by: '/bin/sh -c #(nop) WORKDIR /opt', empty_layer: true },
      { created_by: '/bin/sh -c echo hi > /etc/conf && rm -rf /opt/cache/* && touch /opt/cache/c' },
    ],
  };
  return { layers, config };
}

const allFileBytes = (layers: TarEntry[][]) => layers.flat().reduce((n, t) => n + (t.type === 'file' ? t.size : 0), 0);

describe('inspect: layer replay and wasted bytes', () => {
  it('counts what whiteouts, opaque directories and overwrites hid, each with the layers that added and removed it', () => {
    const { layers } = image();
    const r = replayLayers(layers);
    const wasted = [...r.wasted].sort((a, b) => b.bytes - a.bytes);
    expect(wasted).toEqual([
      { path: '/opt/big', bytes: 1000, addedIn: 0, removedIn: 1, how: 'deleted' },
      { path: '/opt/cache/b', bytes: 300, addedIn: 0, removedIn: 2, how: 'deleted' },
      { path: '/opt/cache/a', bytes: 200, addedIn: 0, removedIn: 2, how: 'deleted' },
      { path: '/etc/conf', bytes: 10, addedIn: 0, removedIn: 2, how: 'overwritten' },
      { path: '/tmp/dup', bytes: 8, addedIn: 2, removedIn: 2, how: 'overwritten' },
    ]);
    // /data/x's bytes live on through its hard link /data/y: not wasted.
    expect(r.index.has('/data/x')).toBe(false);
    expect(r.index.get('/data/y')).toMatchObject({ kind: 'file', size: 70 });
    expect(r.layerFileBytes).toBe(allFileBytes(layers));
    // What the layers carry is what is reachable plus what is wasted.
    expect(r.layerFileBytes).toBe(r.index.stats().bytes + 1518);
    // The replay ends where flatten ends.
    expect(r.index.sorted().map((e) => e.path)).toEqual(flatten(layers).sorted().map((e) => e.path));
  });

  it('counts each layer as docker history does: file bytes, a hard link once, symlink targets', () => {
    const r = replayLayers(image().layers);
    const statusBytes = Buffer.byteLength(DPKG_STATUS);
    expect(r.counts[0]).toEqual({
      files: 12, // 11 regular files and one hard link
      entries: 23,
      whiteouts: 0,
      fileBytes: 10 + 1000 + 200 + 300 + 70 + 50 + 20 + 5 + 30 + 40 + statusBytes,
      bytes: 10 + 1000 + 200 + 300 + 70 + 50 + 20 + 5 + 30 + 40 + statusBytes + 'bash'.length + 'usr/bin'.length,
    });
    expect(r.counts[1]).toEqual({ files: 0, entries: 0, whiteouts: 2, fileBytes: 0, bytes: 0 });
    expect(r.counts[2]).toEqual({ files: 4, entries: 5, whiteouts: 1, fileBytes: 15 + 5 + 8 + 9, bytes: 37 });
  });

  it('pairs layers with history entries, skipping empty_layer ones, and strips the #(nop) prefix', () => {
    const { config } = image();
    const h = historyOfLayers(config.history, 3);
    expect(h.map((e) => e?.created_by)).toEqual([
      '/bin/sh -c #(nop) ADD file:0123abcd in / ',
      '/bin/sh -c rm /opt/big /data/x',
      '/bin/sh -c echo hi > /etc/conf && rm -rf /opt/cache/* && touch /opt/cache/c',
    ]);
    expect(h.map(instructionOf)).toEqual(['ADD file:0123abcd in /', '/bin/sh -c rm /opt/big /data/x', '/bin/sh -c echo hi > /etc/conf && rm -rf /opt/cache/* && touch /opt/cache/c']);
    // More layers than history entries: the rest have none.
    expect(historyOfLayers([{ created_by: 'x' }], 2)).toEqual([{ created_by: 'x' }, undefined]);
    expect(instructionOf({ comment: 'Imported from -' })).toBe('(Imported from -)');
  });
});

describe('inspect: the report', () => {
  const { layers, config } = image();
  const statusBytes = Buffer.byteLength(DPKG_STATUS);
  const report = analyseImage({
    image: { ref: 'test:1', id: 'sha256:' + 'f'.repeat(64) },
    config,
    layers: layers.map((entries, i) => ({ entries, archiveBytes: 10_240 * (i + 1), compression: i === 1 ? ('gzip' as const) : ('none' as const) })),
    packages: { managers: ['dpkg'], packages: parseDpkgStatus(DPKG_STATUS) },
  });

  it('has the exact wasted bytes, efficiency and totals', () => {
    const total = allFileBytes(layers);
    expect(report.schema).toBe('slim.inspect/v1');
    expect(report.wasted.bytes).toBe(1518);
    expect(report.wasted.files).toBe(5);
    expect(report.wasted.layerFileBytes).toBe(total);
    expect(report.efficiency).toBeCloseTo(1 - 1518 / total, 12);
    expect(report.wasted.top[0]).toEqual({ path: '/opt/big', bytes: 1000, addedIn: 0, removedIn: 1, how: 'deleted' });
    // Final files: conf(15) cache/c(5) data/y(70) bash sh-target su wall gcc apt status dup(9).
    expect(report.total).toEqual({ bytes: 15 + 5 + 70 + 50 + 20 + 5 + 30 + 40 + statusBytes + 9, files: 10, entries: report.total.entries, layers: 3 });
    expect(report.total.bytes).toBe(total - 1518);
  });

  it('lists layers with their instruction, sizes, counts and the bytes each wasted', () => {
    expect(report.layers.map((l) => [l.index, l.instruction, l.archive.bytes, l.archive.format, l.files, l.whiteouts, l.wastedBytes])).toEqual([
      [0, 'ADD file:0123abcd in /', 10_240, 'tar', 12, 0, 1510],
      [1, '/bin/sh -c rm /opt/big /data/x', 20_480, 'tar+gzip', 0, 2, 0],
      [2, '/bin/sh -c echo hi > /etc/conf && rm -rf /opt/cache/* && touch /opt/cache/c', 30_720, 'tar', 4, 1, 8],
    ]);
    expect(report.layers[1]!.diffId).toBe('sha256:' + 'b'.repeat(64));
    expect(report.configSteps).toEqual(['ENV A=1', 'CMD ["bash"]', 'WORKDIR /opt']);
  });

  it('finds packages, tools, setuid/setgid files and the largest directories', () => {
    expect(report.packages).toEqual({ dpkg: 2, apk: null });
    expect(report.tools).toEqual({ shells: ['/usr/bin/bash', '/usr/bin/sh'], packageManagers: ['/usr/bin/apt'], compilers: ['/usr/bin/gcc-12'] });
    expect(report.setid).toEqual([
      { path: '/usr/bin/su', mode: '4755', setuid: true, setgid: false },
      { path: '/usr/bin/wall', mode: '2755', setuid: false, setgid: true },
    ]);
    // /var and /var/lib hold nothing but /var/lib/dpkg, /usr nothing but /usr/bin, /opt nothing but /opt/cache.
    expect(report.largestDirs).toEqual([
      { path: '/var/lib/dpkg', bytes: statusBytes, files: 1 },
      { path: '/usr/bin', bytes: 145, files: 5 },
      { path: '/data', bytes: 70, files: 1 },
      { path: '/etc', bytes: 15, files: 1 },
      { path: '/tmp', bytes: 9, files: 1 },
      { path: '/opt/cache', bytes: 5, files: 1 },
    ]);
  });

  it('renders text with the sizes formatted', () => {
    const text = renderInspect(report);
    expect(text).toMatch(/efficiency {2}0\.257\d{3}: 1\.5 kB wasted of /);
    expect(text).toMatch(/^ {2}1 +0 B +20\.5 kB +0 +0 B {2}\/bin\/sh -c rm \/opt\/big \/data\/x$/m);
    expect(text).toMatch(/1\.0 kB {2}\/opt\/big {2}\(added in layer 0, deleted in layer 1\)/);
    expect(text).toMatch(/setid +\/usr\/bin\/su \(4755\), \/usr\/bin\/wall \(2755\)/);
  });
});
