import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { choosePlatform, hostPlatform, offeredPlatforms, parsePlatform, type Platform } from '../../src/registry/platform.js';
import { parseRegistryRef } from '../../src/registry/registry-ref.js';
import { engineName, registryOpener, registrySource, type RegistryInputOptions } from '../../src/registry/registry-source.js';
import { Scope } from '../../src/runtime/scope.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { parseOutputRef } from '../../src/sinks/output.js';
import { ContentSpool } from '../../src/sources/content-spool.js';
import { openSource } from '../../src/sources/open-source.js';
import { readImage } from '../../src/sources/read-image.js';
import { describeSource, parseSourceRef } from '../../src/sources/source-ref.js';
import { mkLayer } from '../helpers/layers.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('registry: inputs, as written', () => {
  it('registry:HOST/REPO[:TAG|@DIGEST] is a registry source, written back as it was given', () => {
    const d = `sha256:${'ab'.repeat(32)}`;
    for (const ref of ['127.0.0.1:5000/team/app:1.4', `localhost/app@${d}`, 'alpine', 'registry.example.com:8443/a/b/c:v1-rc.2']) {
      const parsed = parseSourceRef(`registry:${ref}`);
      expect(parsed).toEqual({ kind: 'registry', ref });
      expect(describeSource(parsed as Extract<typeof parsed, { kind: 'registry' }>)).toBe(`registry:${ref}`);
    }
    expect(parseRegistryRef(`localhost/app@${d}`)).toEqual({ host: 'localhost', repository: 'app', digest: d });
    expect(parseRegistryRef('127.0.0.1:5000/team/app:1.4')).toEqual({ host: '127.0.0.1:5000', repository: 'team/app', tag: '1.4' });
    // Without the prefix it is still an image in the engine, and an output keeps its own grammar.
    expect(parseSourceRef('127.0.0.1:5000/team/app:1.4')).toEqual({ kind: 'engine', ref: '127.0.0.1:5000/team/app:1.4' });
    expect(parseOutputRef('registry:127.0.0.1:5000/team/app:1.4')).toEqual({ kind: 'registry', ref: { host: '127.0.0.1:5000', repository: 'team/app', tag: '1.4' } });
  });

  it('the slim image of a registry input is named as docker pull names the input', () => {
    expect(engineName('127.0.0.1:5000/team/app:1.4')).toBe('127.0.0.1:5000/team/app:1.4');
    expect(engineName('alpine:3')).toBe('alpine:3');
    expect(engineName('docker.io/team/app')).toBe('team/app');
    expect(engineName(`localhost/app@sha256:${'ab'.repeat(32)}`)).toBe('localhost/app');
    expect(() => engineName('Upper/Case')).toThrow(/invalid registry reference "Upper\/Case"/);
  });
});

describe('--platform', () => {
  it('OS/ARCH[/VARIANT], an ARCH alone being Linux; anything else is a usage error', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('Linux/AMD64')).toEqual({ os: 'linux', architecture: 'amd64' });
    for (const bad of ['', 'linux/', '/amd64', 'linux/arm/v7/x', 'linux amd64']) expect(() => parsePlatform(bad), bad).toThrow(UsageError);
  });

  it('the default is Linux on this CPU, in OCI names', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(hostPlatform('arm', 7)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('ppc64')).toEqual({ os: 'linux', architecture: 'ppc64le' });
  });

  it('picks the index entry for the platform, variants normalised as containerd does', () => {
    const index: { digest: string; platform?: Partial<Platform> }[] = [
      { digest: 'amd64', platform: { os: 'linux', architecture: 'amd64' } },
      { digest: 'arm64', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: 'armv6', platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { digest: 'armv7', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { digest: 'attestation', platform: { os: 'unknown', architecture: 'unknown' } },
      { digest: 'no-platform' },
    ];
    const pick = (p: string) => choosePlatform(index, parsePlatform(p))?.digest;
    expect(pick('linux/amd64')).toBe('amd64');
    expect(pick('linux/arm64')).toBe('arm64');
    expect(pick('linux/arm64/v8')).toBe('arm64');
    expect(pick('linux/arm')).toBe('armv7');
    expect(pick('linux/arm/v6')).toBe('armv6');
    expect(pick('linux/s390x')).toBeUndefined();
    expect(pick('windows/amd64')).toBeUndefined();
    expect(offeredPlatforms(index)).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6', 'linux/arm/v7']);
  });
});

/** A registry made in the test: documents by path, answering Range requests; `edit` changes what one request gets. */
interface FakeRegistry {
  host: string;
  docs: Map<string, { body: Buffer; type?: string }>;
  ranges: string[];
  edit?: (path: string, body: Buffer) => { body: Buffer; cutAfter?: number } | undefined;
}

let server: Server;
const reg: FakeRegistry = { host: '', docs: new Map(), ranges: [] };
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/v2/') return void res.writeHead(200).end('{}');
    const doc = reg.docs.get(path);
    if (!doc) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    const edited = reg.edit?.(path, doc.body);
    let body = edited?.body ?? doc.body;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) reg.ranges.push(`${path} ${req.headers.range}`);
    const start = range ? Number(range[1]) : 0;
    body = body.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': String(body.length), ...(doc.type ? { 'content-type': doc.type } : {}) });
    if (edited?.cutAfter !== undefined) {
      res.write(body.subarray(0, edited.cutAfter), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  reg.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** An image of one plain and one gzipped layer for ARCH, pushed to REPO by digest; its manifest's descriptor. */
async function pushImage(repo: string, architecture: string, marker: string) {
  const layers = [await mkLayer([{ path: 'etc/' }, { path: 'etc/arch', body: `${architecture} ${marker}\n` }]), await mkLayer([{ path: 'bin/' }, { path: 'bin/app', body: 'app' }], { gzip: true })];
  const { gunzipSync } = await import('node:zlib');
  const diffIds = layers.map((l) => digestOf(l[0] === 0x1f ? gunzipSync(l) : l));
  const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', config: { Cmd: ['/bin/app'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l[0] === 0x1f ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(l), size: l.length })),
  }));
  for (const b of [config, ...layers]) reg.docs.set(`/v2/${repo}/blobs/${digestOf(b)}`, { body: b });
  reg.docs.set(`/v2/${repo}/manifests/${digestOf(manifest)}`, { body: manifest, type: OCI_MANIFEST });
  return { manifest, config, layers, desc: { mediaType: OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length, platform: { os: 'linux', architecture, ...(architecture === 'arm64' ? { variant: 'v8' } : {}) } } };
}

function tag(repo: string, name: string, body: Buffer, type: string): void {
  reg.docs.set(`/v2/${repo}/manifests/${name}`, { body, type });
}

async function read(ref: string, opts: RegistryInputOptions = {}) {
  const scope = new Scope();
  try {
    const spool = await ContentSpool.create(await scope.tempDir());
    scope.defer('spool', () => spool.close());
    const img = await readImage(await registrySource(ref, `registry:${ref}`, opts), spool);
    return { id: img.configDigest, arch: img.config.architecture, files: img.index.sorted().map((e) => e.path) };
  } finally {
    await scope.dispose();
  }
}

const failure = (p: Promise<unknown>) => p.then(() => 'read', (e: Error) => e.message);

describe('a registry image as an image source', () => {
  it('an index is read at the platform asked for, the host\'s by default; none there is one line naming what there is', async () => {
    const amd = await pushImage('multi', 'amd64', 'one');
    const arm = await pushImage('multi', 'arm64', 'two');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [amd.desc, arm.desc] }));
    tag('multi', 'v1', index, OCI_INDEX);
    tag('multi', digestOf(index), index, OCI_INDEX);
    const ref = `${reg.host}/multi:v1`;
    expect(await read(ref, { platform: parsePlatform('linux/amd64') })).toMatchObject({ id: digestOf(amd.config), arch: 'amd64' });
    expect(await read(ref, { platform: parsePlatform('linux/arm64') })).toMatchObject({ id: digestOf(arm.config), arch: 'arm64' });
    if (hostPlatform().architecture === 'amd64') expect((await read(ref)).id).toBe(digestOf(amd.config));
    expect((await read(ref)).files).toEqual(['/bin', '/bin/app', '/etc', '/etc/arch']);
    expect(await failure(read(ref, { platform: parsePlatform('linux/s390x') }))).toBe(`registry:${ref} has no image for linux/s390x (it has linux/amd64, linux/arm64/v8)`);
    // By digest, the index itself is checked against it.
    const byDigest = `${reg.host}/multi@${digestOf(index)}`;
    expect((await read(byDigest, { platform: parsePlatform('linux/arm64') })).id).toBe(digestOf(arm.config));
    reg.docs.delete(`/v2/multi/manifests/${arm.desc.digest}`);
    expect(await failure(read(byDigest, { platform: parsePlatform('linux/arm64') }))).toBe(`registry:${byDigest}: manifest ${arm.desc.digest} named in index ${digestOf(index)} is not in the registry`);
  });

  it('a manifest, config or layer that is not its digest fails with one line naming it', async () => {
    const img = await pushImage('tamper', 'amd64', 'original');
    tag('tamper', 'v1', img.manifest, OCI_MANIFEST);
    const ref = `${reg.host}/tamper:v1`;
    const layer = img.layers[0]!;
    const flipped = Buffer.from(layer);
    flipped[flipped.indexOf('original')] = 'O'.charCodeAt(0);
    reg.edit = (path) => (path.endsWith(digestOf(layer)) ? { body: flipped } : undefined);
    expect(await failure(read(ref))).toBe(`registry:${ref}: layer blob ${digestOf(layer)} does not match its digest: its content is ${digestOf(flipped)}`);
    const config = Buffer.from(img.config.toString().replace('/bin/app', '/bin/ap2'));
    reg.edit = (path) => (path.endsWith(digestOf(img.config)) ? { body: config } : undefined);
    expect(await failure(read(ref))).toBe(`registry:${ref}: config blob ${digestOf(img.config)} does not match its digest: its content is ${digestOf(config)}`);
    reg.edit = (path) => (path.endsWith(digestOf(layer)) ? { body: Buffer.concat([layer, Buffer.alloc(4096)]) } : undefined);
    expect(await failure(read(ref))).toBe(`layer ${digestOf(layer)} of registry:${ref} is more than the ${layer.length} bytes its descriptor says`);
    reg.edit = (path) => (path === `/v2/tamper/manifests/${img.desc.digest}` ? { body: Buffer.from(img.manifest.toString() + ' ') } : undefined);
    expect(await failure(read(`${reg.host}/tamper@${img.desc.digest}`))).toMatch(new RegExp(`^manifest ${img.desc.digest} from ${reg.host}/tamper has digest sha256:[0-9a-f]{64}, expected ${img.desc.digest}$`));
    reg.edit = undefined;
    expect((await read(ref)).id).toBe(digestOf(img.config));
  });

  it('a layer whose body is cut midway is taken up again with a Range request', async () => {
    const img = await pushImage('cut', 'amd64', 'x'.repeat(20000));
    tag('cut', 'v1', img.manifest, OCI_MANIFEST);
    const layer = digestOf(img.layers[0]!);
    let cuts = 0;
    reg.edit = (path, body) => (path.endsWith(layer) && cuts++ === 0 ? { body, cutAfter: 7000 } : undefined);
    try {
      expect((await read(`${reg.host}/cut:v1`)).id).toBe(digestOf(img.config));
      expect(reg.ranges).toContain(`/v2/cut/blobs/${layer} bytes=7000-`);
    } finally {
      reg.edit = undefined;
    }
  });

  it('what is not there, not a container image, or not the platform asked for is said in one line', async () => {
    expect(await failure(read(`${reg.host}/nothing:v1`))).toBe(`registry:${reg.host}/nothing:v1 is not in the registry`);
    const img = await pushImage('single', 'amd64', 'one');
    tag('single', 'v1', img.manifest, OCI_MANIFEST);
    expect(await failure(read(`${reg.host}/single:v1`, { platform: parsePlatform('linux/arm64') }))).toBe(`registry:${reg.host}/single:v1 is an image for linux/amd64, not linux/arm64`);
    const artifact = JSON.parse(img.manifest.toString()) as { config: { mediaType: string } };
    artifact.config.mediaType = 'application/vnd.cncf.helm.config.v1+json';
    tag('single', 'chart', Buffer.from(JSON.stringify(artifact)), OCI_MANIFEST);
    expect(await failure(read(`${reg.host}/single:chart`))).toBe(`registry:${reg.host}/single:chart is not a container image: its config is application/vnd.cncf.helm.config.v1+json`);
  });

  it('openSource opens a registry input only through the opener its caller gives (sources/ is below registry/)', async () => {
    const img = await pushImage('opener', 'amd64', 'one');
    tag('opener', 'v1', img.manifest, OCI_MANIFEST);
    const scope = new Scope();
    try {
      const ref = parseSourceRef(`registry:${reg.host}/opener:v1`);
      const noEngine = {} as Runtime;
      await expect(openSource(ref, { runtime: noEngine, scope })).rejects.toThrow(/no registry client was given/);
      const source = await openSource(ref, { runtime: noEngine, scope, registry: registryOpener({}) });
      expect(source.label).toBe(`registry:${reg.host}/opener:v1`);
      expect((await source.config()).digest).toBe(digestOf(img.config));
      expect((await source.layers()).map((l) => [l.digest, l.size])).toEqual(img.layers.map((l) => [digestOf(l), l.length]));
    } finally {
      await scope.dispose();
    }
  });
});
