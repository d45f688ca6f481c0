import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeImages } from '../helpers/engine.js';
import { runSlim } from '../helpers/slim.js';
import type { InspectReport } from '../../src/inspect/analyse.js';
import type { DiffReport } from '../../src/inspect/diff.js';

const BASE = 'debian:bookworm';
const suffix = randomBytes(4).toString('hex');
const WASTEFUL = `slim-test/inspect-wasteful:${suffix}`;
const TRIMMED = `slim-test/inspect-trimmed:${suffix}`;

/** Classic builder, host network: as the fixtures are built (test/helpers/fixtures.ts). */
function buildImage(tag: string, dockerfile: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'slim-inspect-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    execFileSync('docker', ['build', '--network', 'host', '-q', '-t', tag, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A command's stdout in a throwaway container of the image. */
const inImage = (image: string, script: string) => docker(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', image, '-c', script]);

interface Header {
  name: string;
  type: string;
  size: number;
}

/**
 * The layers of `docker save IMAGE`, read here with tar-stream alone (not slim's reader): each
 * layer's headers and its blob's size in the archive, in the manifest's order.
 */
async function savedLayers(image: string): Promise<{ headers: Header[]; blobBytes: number }[]> {
  const child = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'inherit'] });
  const outer = tar.extract();
  const feeding = pipeline(child.stdout, outer);
  const json = new Map<string, unknown>();
  const layers = new Map<string, { headers: Header[]; blobBytes: number }>();
  for await (const entry of outer) {
    const { name, size = 0, type } = entry.header;
    if (type !== 'file') {
      entry.resume();
      continue;
    }
    // Small entries are JSON (manifest, config) or a small layer; big ones are layers, streamed.
    let body: Readable = entry as unknown as Readable;
    if (size < 1 << 20) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const buf = Buffer.concat(chunks);
      if (buf[0] === 0x7b || buf[0] === 0x5b) {
        json.set(name, JSON.parse(buf.toString('utf8')));
        continue;
      }
      if (buf.subarray(257, 262).toString('latin1') !== 'ustar') continue; // VERSION files and the like
      body = Readable.from([buf]);
    }
    const inner = tar.extract();
    const reading = pipeline(body, inner);
    const headers: Header[] = [];
    for await (const e of inner) {
      headers.push({ name: e.header.name.replace(/^\.\//, ''), type: e.header.type, size: e.header.size ?? 0 });
      e.resume();
    }
    await reading;
    layers.set(name, { headers, blobBytes: size });
  }
  await feeding;
  const manifest = json.get('manifest.json') as { Layers: string[] }[];
  return manifest[0]!.Layers.map((n) => layers.get(n)!);
}

/** Docker's own size format (go-units HumanSizeWithPrecision(n, 3)), as `docker history` prints it. */
function dockerSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

beforeAll(() => {
  buildImage(
    WASTEFUL,
    [
      `FROM ${BASE}`,
      'RUN dd if=/dev/urandom of=/big.bin bs=1M count=3 status=none',
      'RUN cp /usr/bin/ls /usr/local/bin/myls',
      'ENV SLIM_TEST=1',
      'RUN rm /big.bin',
      'RUN chmod u+s /usr/local/bin/myls',
      'CMD ["bash"]',
    ].join('\n') + '\n',
  );
  buildImage(TRIMMED, `FROM ${BASE}\nRUN rm -rf /usr/share/doc /usr/share/man && echo hello > /added.txt\n`);
});

afterAll(() => removeImages([WASTEFUL, TRIMMED]));

describe('slim inspect, the command', () => {
  let report: InspectReport;
  beforeAll(async () => {
    const r = await runSlim(['inspect', WASTEFUL, '--json']);
    expect(r.code, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as InspectReport;
  });

  it('lists the layers docker history lists, with the same instructions and sizes', () => {
    const history = docker(['history', '--no-trunc', '--format', '{{json .}}', WASTEFUL])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { CreatedBy: string; Size: string; Comment: string })
      .reverse();
    // The classic builder marks steps that make no layer with #(nop), except ADD and COPY.
    const made = history.filter((h) => !/#\(nop\) +(?!ADD|COPY)/.test(h.CreatedBy));
    expect(made).toHaveLength(5);
    expect(report.layers).toHaveLength(Number(docker(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', WASTEFUL]).trim()));
    expect(report.layers.map((l) => l.createdBy)).toEqual(made.map((h) => h.CreatedBy));
    expect(report.layers.map((l) => dockerSize(l.bytes))).toEqual(made.map((h) => h.Size));
    expect(report.layers.map((l) => l.instruction)).toEqual([
      '(Imported from -)',
      '/bin/sh -c dd if=/dev/urandom of=/big.bin bs=1M count=3 status=none',
      '/bin/sh -c cp /usr/bin/ls /usr/local/bin/myls',
      '/bin/sh -c rm /big.bin',
      '/bin/sh -c chmod u+s /usr/local/bin/myls',
    ]);
    expect(report.configSteps).toEqual(['ENV SLIM_TEST=1', 'CMD ["bash"]']);
    // The engine's image size is the sum of its layers' sizes, to the byte.
    expect(report.layers.reduce((n, l) => n + l.bytes, 0)).toBe(Number(docker(['image', 'inspect', '-f', '{{.Size}}', WASTEFUL]).trim()));
  });

  it('agrees with the layer tarballs of docker save: blob sizes, file counts and the wasted bytes', async () => {
    const saved = await savedLayers(WASTEFUL);
    expect(report.layers.map((l) => l.archive)).toEqual(saved.map((l) => ({ bytes: l.blobBytes, format: 'tar' })));
    // Whiteouts travel as empty files in the tar; they are not files of the image.
    const isFile = (h: Header) => (h.type === 'file' || h.type === 'link') && !h.name.split('/').pop()!.startsWith('.wh.');
    expect(report.layers.map((l) => l.files)).toEqual(saved.map((l) => l.headers.filter(isFile).length));
    expect(report.layers.map((l) => l.whiteouts)).toEqual([0, 0, 0, 1, 0]);
    const big = saved[1]!.headers.find((h) => h.name === 'big.bin')!;
    const firstLs = saved[2]!.headers.find((h) => h.name === 'usr/local/bin/myls')!;
    expect(saved[3]!.headers.some((h) => h.name === '.wh.big.bin')).toBe(true);
    expect(saved[4]!.headers.some((h) => h.name === 'usr/local/bin/myls')).toBe(true);
    const lsSize = Number(inImage(BASE, 'stat -c %s /usr/bin/ls').trim());
    expect(big.size).toBe(3 * 1024 * 1024);
    expect(firstLs.size).toBe(lsSize);

    expect(report.wasted.bytes).toBe(3 * 1024 * 1024 + lsSize);
    expect(report.wasted.files).toBe(2);
    expect(report.wasted.top).toEqual([
      { path: '/big.bin', bytes: 3 * 1024 * 1024, addedIn: 1, removedIn: 3, how: 'deleted' },
      { path: '/usr/local/bin/myls', bytes: lsSize, addedIn: 2, removedIn: 4, how: 'overwritten' },
    ]);
    const layerFileBytes = saved.flatMap((l) => l.headers).reduce((n, h) => n + (h.type === 'file' ? h.size : 0), 0);
    expect(report.wasted.layerFileBytes).toBe(layerFileBytes);
    expect(report.efficiency).toBeCloseTo(1 - (3 * 1024 * 1024 + lsSize) / layerFileBytes, 12);
    expect(report.total.bytes).toBe(layerFileBytes - report.wasted.bytes);
  });

  it('counts dpkg packages, and finds the setuid files, shells and package managers the image has', () => {
    const dpkg = inImage(WASTEFUL, "dpkg-query -f '.\\n' -W").trim().split('\n').length;
    expect(report.packages).toEqual({ dpkg, apk: null });
    expect(Number(inImage(WASTEFUL, "grep -c '^Status: install ok installed' /var/lib/dpkg/status").trim())).toBe(dpkg);
    const setid = inImage(WASTEFUL, 'find / -xdev -type f -perm /6000').trim().split('\n').sort();
    expect(report.setid.map((s) => s.path)).toEqual(setid);
    expect(report.setid).toContainEqual({ path: '/usr/local/bin/myls', mode: '4755', setuid: true, setgid: false });
    expect(report.tools.shells).toEqual(expect.arrayContaining(['/usr/bin/bash', '/usr/bin/dash', '/usr/bin/sh']));
    expect(report.tools.packageManagers).toEqual(expect.arrayContaining(['/usr/bin/apt-get', '/usr/bin/dpkg']));
    expect(report.tools.compilers).toEqual([]);
    expect(report.largestDirs).toHaveLength(10);
    expect(report.largestDirs[0]!.path).toBe('/usr');
  });

  it('prints text for people', async () => {
    const r = await runSlim(['inspect', WASTEFUL]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}efficiency {2}0\.98\d{4}: 3\.3 MB wasted of 202\.3 MB of files in the layers$/m);
    expect(r.stdout).toMatch(/^ +3\.1 MB {2}\/big\.bin {2}\(added in layer 1, deleted in layer 3\)$/m);
    expect(r.stdout).toMatch(/^ {2}3 +0 B +\d+\.\d kB +0 +0 B {2}\/bin\/sh -c rm \/big\.bin$/m);
  });
});

describe('slim diff, the command', () => {
  let report: DiffReport;
  beforeAll(async () => {
    const r = await runSlim(['diff', BASE, TRIMMED, '--json']);
    expect(r.code, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as DiffReport;
  });

  /** Regular files below the paths in the base image, a hard-linked file's bytes once. */
  function measured(paths: string): { files: number; bytes: number; entries: number } {
    const lines = inImage(BASE, `find ${paths} -type f -printf '%i %s\\n'`).trim().split('\n');
    const byInode = new Map(lines.map((l) => l.split(' ') as [string, string]));
    const entries = Number(inImage(BASE, `find ${paths} | wc -l`).trim());
    return { files: lines.length, bytes: [...byInode.values()].reduce((n, s) => n + Number(s), 0), entries };
  }

  it('removed bytes and files are what the base image holds under the deleted directories; the added file is there', () => {
    expect(report.removed).toEqual(measured('/usr/share/doc /usr/share/man'));
    expect(report.added).toEqual({ entries: 1, files: 1, bytes: 'hello\n'.length });
    expect(report.changed.entries).toBe(0);
    expect(report.a.bytes - report.removed.bytes + report.added.bytes).toBe(report.b.bytes);
    const doc = measured('/usr/share/doc');
    const man = measured('/usr/share/man');
    const group = (p: string) => report.dirs!.groups.find((g) => g.path === p)!;
    expect(group('/usr/share/doc').removed).toMatchObject({ files: doc.files, bytes: doc.bytes });
    expect(group('/usr/share/man').removed).toMatchObject({ files: man.files, bytes: man.bytes });
    expect(group('/').added).toEqual({ entries: 1, files: 1, bytes: 6 });
  });

  it("puts the removed files under the packages that own them in the base image's dpkg database", () => {
    const coreutils = report.packages!.find((p) => p.name === 'coreutils')!;
    // What dpkg says coreutils installed under the two directories, as regular files.
    const sizes = inImage(BASE, "dpkg -L coreutils | grep -E '^/usr/share/(doc|man)/' | while read -r f; do if [ -f \"$f\" ] && [ ! -L \"$f\" ]; then stat -c %s \"$f\"; fi; done")
      .trim()
      .split('\n')
      .map(Number);
    expect(coreutils.bytesRemoved).toBe(sizes.reduce((n, s) => n + s, 0));
    expect(coreutils.filesRemoved).toBeGreaterThanOrEqual(sizes.length);
    expect(coreutils.filesKept).toBeGreaterThan(0);
    expect(coreutils.keptFraction).toBeGreaterThan(0.5);
    expect(coreutils.keptFraction).toBeLessThan(1);
    expect(report.packages!.reduce((n, p) => n + p.bytesRemoved, 0)).toBe(report.removed.bytes);
  });

  it('prints one grouping with --by, as text', async () => {
    const r = await runSlim(['diff', BASE, TRIMMED, '--by', 'package']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}removed {4} +\d+\.\d MB in \d+ files/m);
    expect(r.stdout).toMatch(/^ +\d+% +[\d.]+ kB +\d+\/\d+ {2}coreutils$/m);
    expect(r.stdout).not.toMatch(/by directory/);
  });
});

describe('images in files', () => {
  it('inspects a docker-archive and an oci-archive as it inspects the image in the engine, and leaves neither loaded', async () => {
    const tag = `slim-test/inspect-file:${suffix}`;
    const dir = mkdtempSync(join(tmpdir(), 'slim-inspect-file-'));
    try {
      buildImage(tag, `FROM ${BASE}\nRUN echo one > /one && rm -rf /usr/share/doc\n`);
      const id = docker(['image', 'inspect', '-f', '{{.Id}}', tag]).trim();
      const fromEngine = JSON.parse((await runSlim(['inspect', tag, '--json'])).stdout) as InspectReport;
      const dockerArchive = join(dir, 'image.tar');
      const ociArchive = join(dir, 'image.oci.tar');
      docker(['save', '-o', dockerArchive, tag]);
      execFileSync('skopeo', ['copy', '-q', `docker-archive:${dockerArchive}`, `oci-archive:${ociArchive}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
      removeImages([tag]);
      // skopeo writes the config anew in OCI form, so the image ID differs; the filesystem does not.
      const comparable = (r: InspectReport) => ({ ...r, image: { ...r.image, ref: undefined, id: undefined }, layers: r.layers.map((l) => ({ ...l, archive: undefined })) });
      for (const [ref, sameId] of [[`docker-archive:${dockerArchive}`, true], [`oci-archive:${ociArchive}:v1`, false]] as const) {
        const r = await runSlim(['inspect', ref, '--json']);
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as InspectReport;
        expect(report.image.ref).toBe(ref);
        if (sameId) expect(report.image.id).toBe(id);
        expect(comparable(report), ref).toEqual(comparable(fromEngine));
        expect(() => docker(['image', 'inspect', report.image.id]), `${ref} left ${report.image.id} in the engine`).toThrow();
      }
    } finally {
      removeImages([tag]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('inspect and diff errors', () => {
  it('an image the engine does not have is a one-line error, exit 1', async () => {
    const missing = `slim-test/no-such-image:${suffix}`;
    for (const args of [['inspect', missing], ['diff', BASE, missing]]) {
      const r = await runSlim(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([`slim: error: image ${missing} is not in the engine (docker image ls lists what is there)`]);
    }
  });

  it('bad usage exits 2', async () => {
    for (const args of [['inspect'], ['diff', BASE], ['diff', BASE, TRIMMED, '--by', 'layer'], ['inspect', BASE, '--top', '0'], ['diff', BASE, TRIMMED, '--depth', 'x']]) {
      const r = await runSlim(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});
