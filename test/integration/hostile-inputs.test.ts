import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages, requireEngine } from '../helpers/engine.js';
import { hasImage, uniqueSource } from '../helpers/fixtures.js';
import { mkLayer } from '../helpers/layers.js';
import { runSlim, type SlimRun } from '../helpers/slim.js';

/**
 * Inputs made to trick slim: it must refuse them with its own one-line error, load nothing, and
 * never remove an image it did not load, whatever names the input gives.
 */
const work = mkdtempSync(join(tmpdir(), 'slim-hostile-'));
const id = `${process.pid}-${Date.now().toString(36)}`;
const made: string[] = [];
beforeAll(() => requireEngine());
afterAll(() => {
  removeImages(made);
  rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tagsOf = (ref: string): string[] => JSON.parse(docker(['image', 'inspect', '--format', '{{json .RepoTags}}', ref])) as string[];

/** A small image of its own (one file with content unique to this test), tagged; returns its ID. */
async function uniqueImage(name: string): Promise<{ tag: string; id: string }> {
  const tag = `slim-test/hostile-${name}:${id}`;
  docker(['import', '-', tag], { input: await mkLayer([{ path: 'id.txt', body: `${name} ${id}\n` }]) });
  made.push(tag);
  return { tag, id: docker(['image', 'inspect', '--format', '{{.Id}}', tag]).trim() };
}

interface Entry {
  header: tar.Header;
  body: Buffer;
}
const fileHeader = (name: string) => ({ name, type: 'file', mode: 0o644, mtime: new Date(0) }) as tar.Header;
async function readTar(file: string): Promise<Entry[]> {
  const extract = tar.extract();
  const out: Entry[] = [];
  const reading = (async () => {
    for await (const e of extract) {
      const c: Buffer[] = [];
      for await (const b of e as AsyncIterable<Buffer>) c.push(b);
      out.push({ header: e.header, body: Buffer.concat(c) });
    }
  })();
  extract.end(readFileSync(file));
  await reading;
  return out;
}
async function writeTar(file: string, entries: Entry[]): Promise<string> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) await new Promise<void>((res, rej) => pack.entry({ ...e.header, size: e.header.type === 'file' ? e.body.length : 0 }, e.header.type === 'file' ? e.body : Buffer.alloc(0), (err) => (err ? rej(err) : res())));
  pack.finalize();
  await done;
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}
function saved(ref: string, name: string): string {
  const file = join(work, `${name}.tar`);
  docker(['save', '-o', file, ref]);
  return file;
}
function layoutOf(ref: string, name: string): string {
  const dir = join(work, name);
  execFileSync('skopeo', ['copy', '-q', `docker-daemon:${ref}`, `oci:${dir}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
  return dir;
}
const blob = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
const json = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;
interface OciManifest {
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}
function manifestOf(dir: string): OciManifest {
  return json<OciManifest>(blob(dir, json<{ manifests: { digest: string }[] }>(join(dir, 'index.json')).manifests[0]!.digest));
}
/** Write a new manifest (under its own digest) and point index.json at it. */
function putManifest(dir: string, m: OciManifest): void {
  const raw = Buffer.from(JSON.stringify(m));
  writeFileSync(blob(dir, sha(raw)), raw);
  const index = json<{ manifests: { digest: string; size: number }[] }>(join(dir, 'index.json'));
  index.manifests[0] = { ...index.manifests[0]!, digest: `sha256:${sha(raw)}`, size: raw.length };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

/** Run slim with a temp dir of its own, so that what it leaves there is seen. */
async function slim(args: string[]): Promise<SlimRun & { tmpLeft: string[] }> {
  const tmp = mkdtempSync(join(work, 'tmp-'));
  const r = await runSlim(args, { env: { TMPDIR: tmp } });
  return { ...r, tmpLeft: readdirSync(tmp) };
}

/** One line of error (plus an optional hint), the exit code, nothing left: containers, volumes, run tags, temp dirs. */
function refusedCleanly(r: SlimRun & { tmpLeft: string[] }, message: RegExp | string, code = 1): void {
  expect(r.code, r.stderr).toBe(code);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'));
  expect(errors, r.stderr).toHaveLength(1);
  if (typeof message === 'string') expect(errors[0]).toContain(message);
  else expect(errors[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at |the engine refused/);
  expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  expect(runTags(r.runId)).toEqual([]);
  expect(r.tmpLeft).toEqual([]);
}
const runTags = (runId?: string) =>
  docker(['images', '--filter', 'reference=slim-run/*', '--format', '{{.Repository}}:{{.Tag}}'])
    .split('\n')
    .filter((t) => t && (!runId || t.startsWith(`slim-run/${runId}:`)));

describe('a file input never makes slim remove an image it did not load', () => {
  it('a docker-archive whose config is renamed to another image\'s ID: refused, the other image stays, nothing is loaded', async () => {
    const victim = await uniqueImage('victim-a');
    const input = await uniqueImage('input-a');
    const file = saved(input.tag, 'input-a');
    docker(['rmi', input.tag]);
    const vhex = victim.id.slice(7);
    const entries = (await readTar(file)).filter((e) => e.header.name !== 'repositories');
    for (const e of entries) {
      if (e.header.name === `${input.id.slice(7)}.json`) e.header.name = `${vhex}.json`;
      if (e.header.name === 'manifest.json') e.body = Buffer.from(JSON.stringify([{ ...JSON.parse(e.body.toString())[0], Config: `${vhex}.json`, RepoTags: null }]));
    }
    const spoofed = await writeTar(join(work, 'spoofed-a.tar'), entries);
    for (const cmd of [['inspect', `docker-archive:${spoofed}`], ['build', `docker-archive:${spoofed}`, '--tag', `slim-test/hostile-out:${id}`]]) {
      const r = await slim(cmd);
      refusedCleanly(r, `docker-archive:${spoofed}: ${vhex}.json is named for ${victim.id} but its content is ${input.id}`);
      expect(tagsOf(victim.id)).toEqual([victim.tag]);
      expect(hasImage(input.id), 'the input must not stay loaded').toBe(false);
    }
  });

  it('a docker-archive of an image in the engine, its config renamed to an unknown ID: refused, the image and its tag stay', async () => {
    const victim = await uniqueImage('victim-b');
    const other = 'ab'.repeat(32);
    const entries = (await readTar(saved(victim.tag, 'victim-b'))).filter((e) => e.header.name !== 'repositories');
    for (const e of entries) {
      if (e.header.name === `${victim.id.slice(7)}.json`) e.header.name = `${other}.json`;
      if (e.header.name === 'manifest.json') e.body = Buffer.from(JSON.stringify([{ ...JSON.parse(e.body.toString())[0], Config: `${other}.json`, RepoTags: null }]));
    }
    const spoofed = await writeTar(join(work, 'spoofed-b.tar'), entries);
    const r = await slim(['inspect', `docker-archive:${spoofed}`]);
    refusedCleanly(r, `is named for sha256:${other} but its content is ${victim.id}`);
    expect(tagsOf(victim.id)).toEqual([victim.tag]);
  });

  it('an input that is an untagged image already in the engine: read, and still there afterwards', async () => {
    const dangling = await uniqueImage('dangling');
    const entries = (await readTar(saved(dangling.tag, 'dangling'))).filter((e) => e.header.name !== 'repositories');
    for (const e of entries) if (e.header.name === 'manifest.json') e.body = Buffer.from(JSON.stringify([{ ...JSON.parse(e.body.toString())[0], RepoTags: null }]));
    const file = await writeTar(join(work, 'dangling-untagged.tar'), entries);
    docker(['rmi', dangling.tag]);
    docker(['load', '-q', '-i', file]);
    try {
      expect(tagsOf(dangling.id)).toEqual([]);
      const r = await slim(['inspect', `docker-archive:${file}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(tagsOf(dangling.id), 'the untagged image stays, untagged').toEqual([]);
      expect(r.tmpLeft).toEqual([]);
    } finally {
      removeImages([dangling.id]);
    }
  });
});

describe('digests are checked on file inputs', () => {
  it('an OCI layout whose manifest names another config digest than its bytes have', async () => {
    const victim = await uniqueImage('victim-c');
    const input = await uniqueImage('input-c');
    const dir = layoutOf(input.tag, 'config-digest');
    docker(['rmi', input.tag]);
    const m = manifestOf(dir);
    const real = m.config.digest;
    renameSync(blob(dir, real), blob(dir, victim.id));
    putManifest(dir, { ...m, config: { ...m.config, digest: victim.id } });
    const r = await slim(['inspect', `oci:${dir}:v1`]);
    refusedCleanly(r, `oci:${dir}:v1: config blob ${victim.id} does not match its digest: its content is ${real}`);
    expect(tagsOf(victim.id)).toEqual([victim.tag]);
    expect(hasImage(real)).toBe(false);
    // The same layout in an oci-archive is refused as it is unpacked.
    const archive = join(work, 'config-digest.tar');
    execFileSync('tar', ['-C', dir, '-cf', archive, '.']);
    const ra = await slim(['build', `oci-archive:${archive}:v1`, '--tag', `slim-test/hostile-out:${id}`]);
    refusedCleanly(ra, `oci-archive:${archive}: blob ${victim.id} does not match its digest: its content is ${real}`);
    expect(tagsOf(victim.id)).toEqual([victim.tag]);
  });

  it('a layer blob whose bytes are not its digest, in an otherwise consistent layout: refused before anything is built', async () => {
    const input = await uniqueImage('input-d');
    const dir = layoutOf(input.tag, 'layer-digest');
    docker(['rmi', input.tag]);
    const m = manifestOf(dir);
    const layerDigest = m.layers[0]!.digest;
    // Other bytes under the old name (id.txt says something else), with a size and a config that agree with them.
    const plain = gunzipSync(readFileSync(blob(dir, layerDigest)));
    const at = plain.indexOf(Buffer.from(`input-d ${id}`));
    expect(at).toBeGreaterThan(0);
    plain.write('INPUT-D', at);
    const layer = gzipSync(plain);
    writeFileSync(blob(dir, layerDigest), layer);
    const config = json<{ rootfs: { diff_ids: string[] } }>(blob(dir, m.config.digest));
    config.rootfs.diff_ids = [`sha256:${sha(plain)}`];
    const configRaw = Buffer.from(JSON.stringify(config));
    writeFileSync(blob(dir, sha(configRaw)), configRaw);
    putManifest(dir, { ...m, config: { ...m.config, digest: `sha256:${sha(configRaw)}`, size: configRaw.length }, layers: [{ ...m.layers[0]!, size: layer.length }] });
    const r = await slim(['build', `oci:${dir}:v1`, '--tag', `slim-test/hostile-out:${id}`]);
    refusedCleanly(r, `oci:${dir}:v1: layer blob ${layerDigest} does not match its digest: its content is sha256:${sha(layer)}`);
    expect(hasImage(`sha256:${sha(configRaw)}`)).toBe(false);
  });

  it('a docker-archive layer that is not what the config\'s diff_ids say: slim says so, not the engine', async () => {
    const input = await uniqueImage('input-e');
    const entries = await readTar(saved(input.tag, 'input-e'));
    docker(['rmi', input.tag]);
    const layer = entries.find((e) => e.header.name.endsWith('/layer.tar'))!;
    const at = layer.body.indexOf(Buffer.from(`input-e ${id}`));
    layer.body.write('INPUT-E', at);
    const file = await writeTar(join(work, 'diff-id.tar'), entries);
    const r = await slim(['inspect', `docker-archive:${file}`]);
    refusedCleanly(r, new RegExp(`^slim: error: docker-archive:${file}: layer ${layer.header.name} does not match its digest: uncompressed it is sha256:${sha(layer.body)}, the config's rootfs.diff_ids\\[0\\] says sha256:[0-9a-f]{64}$`));
    expect(hasImage(input.id)).toBe(false);
  });

  it('a blob that is a symlink to a host file is not followed', async () => {
    const input = await uniqueImage('input-f');
    const dir = layoutOf(input.tag, 'symlinked');
    docker(['rmi', input.tag]);
    const { layers, config } = manifestOf(dir);
    const outside = join(work, 'host-file');
    // The bytes are the blob's own: only where they live is wrong.
    renameSync(blob(dir, layers[0]!.digest), outside);
    symlinkSync(outside, blob(dir, layers[0]!.digest));
    const r = await slim(['inspect', `oci:${dir}:v1`]);
    refusedCleanly(r, `oci:${dir}:v1: blob ${layers[0]!.digest} is a symlink; slim reads only regular files inside the layout`);
    expect(hasImage(config.digest)).toBe(false);
  });
});

describe("slim's own entry checks run before the engine sees a file input", () => {
  it('a ../ entry in a docker-archive layer: slim names it, the engine gets nothing', async () => {
    const layer = await mkLayer([{ path: 'bin/' }, { path: 'bin/ok', body: 'ok' }, { path: '../escape', body: 'out' }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/ok'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } }));
    const manifest = Buffer.from(JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: null, Layers: ['l/layer.tar'] }]));
    const file = await writeTar(join(work, 'dotdot.tar'), [
      { header: fileHeader('l/layer.tar'), body: layer },
      { header: fileHeader(`${sha(config)}.json`), body: config },
      { header: fileHeader('manifest.json'), body: manifest },
    ]);
    const r = await slim(['build', `docker-archive:${file}`, '--tag', `slim-test/hostile-out:${id}`]);
    refusedCleanly(r, `docker-archive:${file}: layer l/layer.tar: unsafe entry "../escape": it climbs out of the image root`);
    expect(hasImage(`sha256:${sha(config)}`)).toBe(false);
  });
});

describe('run options', () => {
  it('a bad --publish is a usage error before the engine is asked anything', async () => {
    const r = await runSlim(['build', 'slim-test/never-read:1', '-p', '80:http', '--smoke', 'true'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'))).toEqual(['slim: error: invalid --publish "80:http"']);
  });
});

describe('parallel builds of one image', () => {
  it('two builds with the same SOURCE_DATE_EPOCH make the same image and neither removes it under the other', async () => {
    const source = uniqueSource('busybox-scratch', `hostile-${id}`);
    made.push(source);
    const src = docker(['image', 'inspect', '--format', '{{.Id}}', source]).trim();
    const marks = mkdtempSync(join(work, 'marks-'));
    // The runs in step: A verifies its slim image until B has loaded the same one, and B verifies
    // it until A has ended (and cleaned up). The probe and the original's check run the source image.
    const smokeA = `[ "$SLIM_IMAGE" = "${src}" ] || { touch ${marks}/a-slim; [ -f ${marks}/b-slim ]; }`;
    const smokeB = `if [ "$SLIM_IMAGE" = "${src}" ]; then [ -f ${marks}/a-slim ]; else touch ${marks}/b-slim; [ -f ${marks}/a-done ]; fi`;
    const outs = [join(work, 'par-a.tar'), join(work, 'par-b.tar')];
    const build = (smoke: string, out: string) =>
      runSlim(['build', source, '--cmd', '["exec /bin/busybox sleep 600"]', '--stop-timeout', '1', '--smoke', smoke, '--smoke-timeout', '120', '--output', `oci-archive:${out}`, '--json'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    const runB = build(smokeB, outs[1]!);
    const a = await build(smokeA, outs[0]!);
    writeFileSync(join(marks, 'a-done'), '');
    const b = await runB;
    for (const r of [a, b]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning: cleanup/);
    }
    expect(a.report!.output.id).toBe(b.report!.output.id);
    for (const o of outs) expect((JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${o}`], { encoding: 'utf8' })) as { Digest: string }).Digest).toBe(a.report!.output.digest);
    expect(hasImage(a.report!.output.id), 'no slim image stays, tagged or not').toBe(false);
    for (const r of [a, b]) {
      expect(runTags(r.runId)).toEqual([]);
      expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
    }
  });
});
