import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, hasImage } from '../helpers/fixtures.js';
import { mkLayer } from '../helpers/layers.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSlim } from '../helpers/slim.js';
import { RegistryClient } from '../../src/registry/client.js';
import { ensureBlob } from '../../src/registry/push.js';
import { dockerArchiveSource } from '../../src/sources/archive-source.js';
import type { Digest } from '../../src/image/types.js';
import type { InspectReport } from '../../src/inspect/analyse.js';
import type { DiffReport } from '../../src/inspect/diff.js';

/** Nothing listens there: a run that asks the engine anything fails. */
const NO_ENGINE = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const suffix = randomBytes(6).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'slim-registry-source-'));
const sha256 = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const madeTags: string[] = [];
let reg: TestRegistry;
let client: RegistryClient;

interface Pushed {
  ref: string;
  configDigest: Digest;
  layers: Digest[];
  desc: { mediaType: string; digest: Digest; size: number };
}

/** A file as a blob of the registry, streamed from disk. */
async function pushFile(repo: string, file: string, mediaType: string): Promise<{ mediaType: string; digest: Digest; size: number }> {
  const data = readFileSync(file);
  const blob = { digest: sha256(data), size: data.length, mediaType, open: (start: number, end: number) => createReadStream(file, { start, end: end - 1 }) };
  await ensureBlob(client, repo, blob, []);
  return { mediaType, digest: blob.digest, size: blob.size };
}

async function pushImage(repo: string, reference: string, config: Buffer, layerFiles: string[]): Promise<Pushed> {
  const cfgFile = join(work, `config-${sha256(config).slice(7, 19)}.json`);
  await pipeline([config], createWriteStream(cfgFile));
  const cfg = await pushFile(repo, cfgFile, 'application/vnd.oci.image.config.v1+json');
  const layers = [];
  for (const f of layerFiles) layers.push(await pushFile(repo, f, 'application/vnd.oci.image.layer.v1.tar'));
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers }));
  await client.putManifest(repo, reference, OCI_MANIFEST, raw);
  return { ref: `${reg.host}/${repo}:${reference}`, configDigest: cfg.digest, layers: layers.map((l) => l.digest), desc: { mediaType: OCI_MANIFEST, digest: sha256(raw), size: raw.length } };
}

/**
 * The busybox fixture with a label of this run added to its config: its config digest (the
 * image ID it would have) is the hash of bytes made here, so no image in the engine has it, and
 * it never goes through the engine on its way to the registry.
 */
async function pushUniqueFixture(repo: string, tag: string): Promise<Pushed> {
  const saved = join(work, 'fixture.tar');
  docker(['save', '-o', saved, fixtureTag('busybox-scratch')]);
  const source = await dockerArchiveSource(saved, 'fixture', { untrusted: false });
  const { config } = await source.config();
  const files: string[] = [];
  for (const [i, layer] of (await source.layers()).entries()) {
    const f = join(work, `fixture-layer-${i}.tar`);
    await pipeline(await layer.open(), createWriteStream(f));
    files.push(f);
  }
  const changed = { ...config, config: { ...config.config, Labels: { ...config.config?.Labels, 'io.slim.test.registry-source': suffix } } };
  return pushImage(repo, tag, Buffer.from(JSON.stringify(changed)), files);
}

/** A registry in front of the real one that flips one byte of one blob as it passes: a tampered registry. */
async function flippingProxy(target: TestRegistry, digest: Digest, offsetIn: (body: Buffer) => number): Promise<{ host: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const flip = req.method === 'GET' && (req.url ?? '').endsWith(`/blobs/${digest}`);
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (!flip || up.statusCode !== 200) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        return void up.pipe(res);
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        const at = offsetIn(body);
        body[at] = body[at]! ^ 0x01;
        res.writeHead(200, up.headers).end(body);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const runTags = (runId: string) => docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']).split('\n').filter((t) => t.startsWith(`slim-run/${runId}`));
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('slim: error:'));

let busybox: Pushed;
beforeAll(async () => {
  reg = await startRegistry();
  client = new RegistryClient(reg.host);
  busybox = await pushUniqueFixture('regsrc/busybox', suffix);
}, 900_000);
afterAll(async () => {
  removeImages(madeTags);
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('registry: inputs', () => {
  it('slim build reads an image no engine has from the registry, loads it for the run only, and names the slim image after it', async () => {
    expect(hasImage(busybox.configDigest), 'no image in the engine has its config before the build').toBe(false);
    const r = await runSlim(['build', `registry:${busybox.ref}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = r.report!;
    madeTags.push(`${busybox.ref}-slim`);
    expect(report.status).toBe('ok');
    expect(report.input).toMatchObject({ ref: `registry:${busybox.ref}`, id: busybox.configDigest });
    expect(report.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(report.output.ref).toBe(`${busybox.ref}-slim`);
    expect(hasImage(`${busybox.ref}-slim`)).toBe(true);
    // The input was in the engine only while containers ran from it.
    expect(hasImage(busybox.configDigest), 'input image removed').toBe(false);
    expect(runTags(r.runId)).toEqual([]);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });

    const trace = join(work, 'probe.jsonl');
    const p = await runSlim(['probe', `registry:${busybox.ref}`, '--trace-out', trace, '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect((JSON.parse(p.stdout) as { records: number }).records).toBeGreaterThan(0);
    expect(hasImage(busybox.configDigest)).toBe(false);
    expect(runTags(p.runId)).toEqual([]);
    expect(leftovers(p.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('slim inspect and slim diff read it with no engine at all, as inspect reads the fixture from the engine', async () => {
    const fromEngine = await runSlim(['inspect', fixtureTag('busybox-scratch'), '--json']);
    expect(fromEngine.code, fromEngine.stderr).toBe(0);
    const want = JSON.parse(fromEngine.stdout) as InspectReport;
    const r = await runSlim(['inspect', `registry:${busybox.ref}`, '--json'], { env: NO_ENGINE });
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as InspectReport;
    expect(got.image).toMatchObject({ ref: `registry:${busybox.ref}`, id: busybox.configDigest });
    expect(got.total).toEqual(want.total);
    expect(got.largestDirs).toEqual(want.largestDirs);
    expect(got.tools).toEqual(want.tools);
    const d = await runSlim(['diff', `registry:${busybox.ref}`, `registry:${reg.host}/regsrc/busybox@${busybox.desc.digest}`, '--json'], { env: NO_ENGINE });
    expect(d.code, d.stderr).toBe(0);
    const diff = JSON.parse(d.stdout) as DiffReport;
    expect([diff.removed.entries, diff.added.files]).toEqual([0, 0]);
  });

  it('a registry that serves a tampered layer: one error line naming the blob, and nothing loaded', async () => {
    const layer = busybox.layers[0]!;
    // A byte inside busybox's code: the tar stays readable, only the digest tells.
    const proxy = await flippingProxy(reg, layer, (body) => body.indexOf(Buffer.from('\x7fELF', 'latin1')) + 4096);
    try {
      const ref = `${proxy.host}/regsrc/busybox:${suffix}`;
      const line = new RegExp(`^slim: error: registry:${ref}: layer blob ${layer} does not match its digest: its content is sha256:[0-9a-f]{64}$`);
      const i = await runSlim(['inspect', `registry:${ref}`], { env: NO_ENGINE });
      expect(i.code, i.stderr).toBe(1);
      expect(errorLines(i.stderr), i.stderr).toHaveLength(1);
      expect(errorLines(i.stderr)[0]).toMatch(line);
      const b = await runSlim(['build', `registry:${ref}`, '--tag', `slim-test/registry-source-tampered:${suffix}`]);
      expect(b.code, b.stderr).toBe(1);
      expect(errorLines(b.stderr), b.stderr).toHaveLength(1);
      expect(errorLines(b.stderr)[0]).toMatch(line);
      expect(hasImage(busybox.configDigest)).toBe(false);
      expect(hasImage(`slim-test/registry-source-tampered:${suffix}`)).toBe(false);
      expect(runTags(b.runId)).toEqual([]);
      expect(leftovers(b.runId)).toEqual({ containers: [], volumes: [] });
    } finally {
      await proxy.stop();
    }
  });

  it('an index of two platforms is read at the one --platform names, this host\'s by default', async () => {
    const layer = join(work, 'arm.tar');
    await pipeline([await mkLayer([{ path: 'etc/' }, { path: 'etc/arm64', body: `${suffix}\n` }])], createWriteStream(layer));
    const diffId = sha256(readFileSync(layer));
    const armConfig = Buffer.from(JSON.stringify({ architecture: 'arm64', variant: 'v8', os: 'linux', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: [diffId] } }));
    const arm = await pushImage('regsrc/busybox', `arm64-${suffix}`, armConfig, [layer]);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: busybox.desc.digest, size: busybox.desc.size, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.desc, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }));
    await client.putManifest('regsrc/busybox', `multi-${suffix}`, OCI_INDEX, index);
    const ref = `registry:${reg.host}/regsrc/busybox:multi-${suffix}`;
    const idOf = async (...args: string[]) => {
      const r = await runSlim(['inspect', ref, '--json', ...args], { env: NO_ENGINE });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as InspectReport).image.id;
    };
    expect(await idOf('--platform', 'linux/arm64')).toBe(arm.configDigest);
    expect(await idOf('--platform', 'linux/amd64')).toBe(busybox.configDigest);
    expect(await idOf()).toBe(busybox.configDigest);
    const none = await runSlim(['inspect', ref, '--platform', 'linux/s390x'], { env: NO_ENGINE });
    expect(none.code).toBe(1);
    expect(errorLines(none.stderr)).toEqual([`slim: error: ${ref} has no image for linux/s390x (it has linux/amd64, linux/arm64/v8)`]);
    const bad = await runSlim(['inspect', ref, '--platform', 'linux/arm/v7/x'], { env: NO_ENGINE });
    expect(bad.code).toBe(2);
  });
});
