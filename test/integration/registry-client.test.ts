import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { attachArtifact, pushImage, tagManifest } from '../../src/registry/push.js';
import { ArtifactType, FileType, referrersTag } from '../../src/registry/artifact.js';
import { fetchAttachments, listAttachments } from '../../src/registry/attachments.js';
import { publishToRegistries } from '../../src/pipeline/publish.js';
import { MediaType } from '../../src/image/types.js';
import { sha256 } from '../../src/image/digest.js';
import { silentLogger } from '../../src/log.js';
import { InterruptedError, SlimError } from '../../src/errors.js';
import { createServer, type AddressInfo } from 'node:net';
import type { BuiltImage } from '../../src/pack/image-builder.js';
import { failingProxy, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { mkBuiltImage } from '../helpers/built-image.js';

const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quick = { retryDelayMs: 50 };
let dir: string;
let small: BuiltImage;
let big: BuiltImage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slim-registry-test-'));
  small = await mkBuiltImage(dir, { randomSize: 200_000, name: 'small' });
  big = await mkBuiltImage(dir, { randomSize: 1_500_000, name: 'big' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** skopeo (a client we did not write) copies the image out, checking every digest on the way. */
function readBack(host: string, ref: string, env: Record<string, string> = {}, creds?: string): { manifestDigest: string; layers: string[] } {
  const out = join(dir, `copy-${Math.random().toString(36).slice(2)}`);
  const auth = creds ? ['--src-creds', creds] : [];
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', ...auth, `docker://${host}/${ref}`, `oci:${out}:x`], { stdio: 'ignore', env: { ...process.env, ...env } });
  const raw = JSON.parse(skopeo('inspect', '--raw', ...(creds ? ['--creds', creds] : []), '--tls-verify=false', `docker://${host}/${ref}`)) as { layers: { digest: string }[] };
  const digest = skopeo('inspect', '--format', '{{.Digest}}', ...(creds ? ['--creds', creds] : []), '--tls-verify=false', `docker://${host}/${ref}`).trim();
  return { manifestDigest: digest, layers: raw.layers.map((l) => l.digest) };
}

describe('registry client against a real registry (docker-registry 2.8)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => reg?.stop());

  it('pushes in one PUT, verifies digests, and skopeo reads the image back', async () => {
    const client = new RegistryClient(reg.host, quick);
    const pushed = await pushImage(client, 'mono/app', small);
    await tagManifest(client, 'mono/app', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
    expect(pushed.manifest.digest).toBe(small.manifestDigest);
    expect(pushed.blobs.map((b) => b.outcome)).toEqual(['uploaded', 'uploaded']);
    expect(readBack(reg.host, 'mono/app:v1')).toEqual({ manifestDigest: small.manifestDigest, layers: [small.layer.digest] });
    // Again: every blob is already there, nothing moves.
    const again = await pushImage(client, 'mono/app', small);
    expect(again.blobs.map((b) => b.outcome)).toEqual(['exists', 'exists']);
  });

  it('pushes a large blob in PATCH chunks with Content-Range', async () => {
    const client = new RegistryClient(reg.host, { ...quick, monolithicMax: 100_000, chunkSize: 256 * 1024 });
    await pushImage(client, 'chunked/app', big);
    await tagManifest(client, 'chunked/app', 'v1', { mediaType: MediaType.ociManifest, raw: big.manifestRaw });
    expect(big.layer.size).toBeGreaterThan(5 * 256 * 1024);
    expect(readBack(reg.host, 'chunked/app:v1').layers).toEqual([big.layer.digest]);
  });

  it('mounts a blob from another repository instead of uploading it again', async () => {
    const client = new RegistryClient(reg.host, quick);
    await pushImage(client, 'mount/a', small);
    const second = await pushImage(client, 'mount/b', small, ['mount/a']);
    expect(second.blobs.map((b) => b.outcome)).toEqual(['mounted', 'mounted']);
    await tagManifest(client, 'mount/b', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
    expect(readBack(reg.host, 'mount/b:v1').manifestDigest).toBe(small.manifestDigest);
  });

  it('a manifest whose blobs are missing is refused with the registry\'s own error', async () => {
    const client = new RegistryClient(reg.host, quick);
    const err = await tagManifest(client, 'missing/app', 'v1', { mediaType: MediaType.ociManifest, raw: big.manifestRaw }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlimError);
    expect((err as Error).message).toMatch(/HTTP 400: MANIFEST_BLOB_UNKNOWN/);
  });

  it('attaches files as a referrer (tag schema on 2.8), lists and fetches them with digests checked', async () => {
    const client = new RegistryClient(reg.host, quick);
    const pushed = await pushImage(client, 'att/app', small);
    await tagManifest(client, 'att/app', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
    const report = Buffer.from('{"schema":"slim.report/v1"}\n');
    const hostile = Buffer.from('should land inside the directory');
    const a = await attachArtifact(client, 'att/app', pushed.manifest, ArtifactType.evidence, [
      { title: 'report.json', mediaType: FileType.report, data: report },
      { title: '../../escape.txt', mediaType: 'text/plain', data: hostile },
    ], { 'io.slim.version': 'test' });
    const s = await attachArtifact(client, 'att/app', pushed.manifest, ArtifactType.sbom, [{ title: 'sbom.cdx.json', mediaType: FileType.sbom, data: Buffer.from('{"bomFormat":"CycloneDX"}') }], {});
    expect(a.via).toBe('tag-schema');
    // The referrers tag, read by skopeo: an OCI index naming both artifacts with their types.
    const index = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/att/app:${referrersTag(small.manifestDigest)}`)) as { manifests: { digest: string; artifactType: string }[] };
    expect(index.manifests.map((m) => [m.digest, m.artifactType])).toEqual([[a.digest, ArtifactType.evidence], [s.digest, ArtifactType.sbom]]);
    const artifact = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/att/app@${a.digest}`)) as { subject: { digest: string }; artifactType: string };
    expect(artifact.subject.digest).toBe(small.manifestDigest);

    const list = await listAttachments(client, { host: reg.host, repository: 'att/app', tag: 'v1' });
    expect(list.subject).toBe(small.manifestDigest);
    expect(list.attachments.map((x) => x.files.map((f) => f.title))).toEqual([['report.json', '../../escape.txt'], ['sbom.cdx.json']]);
    const out = join(dir, 'fetched', 'inner');
    await mkdir(out, { recursive: true });
    await fetchAttachments(client, 'att/app', list.attachments, out);
    expect((await readdir(out)).sort()).toEqual(['escape.txt', 'report.json', 'sbom.cdx.json']);
    expect(await readFile(join(out, 'report.json'))).toEqual(report);
    await expect(readFile(join(dir, 'escape.txt'))).rejects.toThrow();
    // Attaching the same artifact again does not list it twice.
    await attachArtifact(client, 'att/app', pushed.manifest, ArtifactType.sbom, [{ title: 'sbom.cdx.json', mediaType: FileType.sbom, data: Buffer.from('{"bomFormat":"CycloneDX"}') }], {});
    expect((await listAttachments(client, { host: reg.host, repository: 'att/app', tag: 'v1' })).attachments).toHaveLength(2);
  });

  it('parallel jobs attaching to the same image all end up in the referrers index', async () => {
    const client = new RegistryClient(reg.host, quick);
    const pushed = await pushImage(client, 'race/app', small);
    // Separate clients, as separate CI jobs would be.
    const attached = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => attachArtifact(new RegistryClient(reg.host, quick), 'race/app', pushed.manifest, ArtifactType.evidence, [{ title: 'report.json', mediaType: FileType.report, data: Buffer.from(`{"job":${n}}`) }], {})),
    );
    const index = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/race/app:${referrersTag(small.manifestDigest)}`)) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest).sort()).toEqual(attached.map((a) => a.digest).sort());
  });

  it('a registry failing mid-upload: retried on a fresh session, then pushed', async () => {
    const proxy = await failingProxy(reg, { times: 2, afterBytes: 50_000 });
    try {
      const retries: string[] = [];
      const client = new RegistryClient(proxy.host, { ...quick, onRetry: (what) => retries.push(what) });
      await pushImage(client, 'flaky/app', small);
      await tagManifest(client, 'flaky/app', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
      expect(proxy.cut).toBe(2);
      expect(retries).toHaveLength(2);
      expect(readBack(reg.host, 'flaky/app:v1').layers).toEqual([small.layer.digest]);
    } finally {
      await proxy.stop();
    }
  });

  it('a chunked upload cut midway starts over in a fresh session and completes', async () => {
    const proxy = await failingProxy(reg, { times: 1, afterBytes: 100_000 });
    try {
      const restarts: string[] = [];
      const client = new RegistryClient(proxy.host, { ...quick, monolithicMax: 100_000, chunkSize: 256 * 1024, onRetry: (what) => restarts.push(what) });
      await pushImage(client, 'flaky/chunked', big);
      expect(restarts).toEqual([`uploading ${big.layer.digest.slice(0, 19)}`]);
      await tagManifest(client, 'flaky/chunked', 'v1', { mediaType: MediaType.ociManifest, raw: big.manifestRaw });
      expect(proxy.cut).toBe(1);
      expect(readBack(reg.host, 'flaky/chunked:v1').layers).toEqual([big.layer.digest]);
    } finally {
      await proxy.stop();
    }
  });

  it('a registry that keeps failing: a clear error after the retries, and nothing under the tag', async () => {
    const proxy = await failingProxy(reg, { times: Infinity, afterBytes: 50_000 });
    try {
      const err = await publishToRegistries([{ host: proxy.host, repository: 'broken/app', tag: 'v1' }], small, undefined, { insecure: [], attach: false }, silentLogger, new AbortController().signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SlimError);
      expect((err as Error).message).toMatch(/^uploading blob sha256:[0-9a-f]{12} to 127\.0\.0\.1:\d+\/broken\/app failed 4 times: uploading sha256:[0-9a-f]{12} at 127\.0\.0\.1:\d+: PUT .*(socket hang up|ECONNRESET)/);
      expect(proxy.cut).toBe(4);
      const client = new RegistryClient(reg.host, quick);
      expect(await client.getManifest('broken/app', 'v1')).toBeUndefined();
      expect(await client.getManifest('broken/app', small.manifestDigest)).toBeUndefined();
    } finally {
      await proxy.stop();
    }
  });
});

describe('cancelling', () => {
  it('an abort (Ctrl-C) during a push to a registry that hangs ends it at once with the abort reason', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hung = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 300);
      const t0 = Date.now();
      const err = await publishToRegistries([{ host, repository: 'x/y', tag: 'z' }], small, undefined, { insecure: [], attach: false }, silentLogger, ac.signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InterruptedError);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
    }
  });
});

describe('registry auth', () => {
  it('basic auth (htpasswd): no credentials, wrong ones, then env and docker config.json', async () => {
    const reg = await startRegistry({ kind: 'basic', user: 'ci', password: 's3cret' });
    const cfgDir = await mkdtemp(join(tmpdir(), 'slim-docker-config-'));
    try {
      const noCreds = await pushImage(new RegistryClient(reg.host, { ...quick, env: { HOME: cfgDir } }), 'basic/app', small).catch((e: unknown) => e);
      expect((noCreds as Error).message).toBe(`${reg.host} asks for credentials and none were found`);
      const wrong = await pushImage(new RegistryClient(reg.host, { ...quick, env: { SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 'nope' } }), 'basic/app', small).catch((e: unknown) => e);
      expect((wrong as SlimError).code).toBe('REGISTRY_AUTH');
      expect((wrong as Error).message).toMatch(/HTTP 401/);
      await pushImage(new RegistryClient(reg.host, { ...quick, env: { SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 's3cret' } }), 'basic/app', small);
      await writeFile(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }));
      const fromConfig = new RegistryClient(reg.host, { ...quick, env: { DOCKER_CONFIG: cfgDir } });
      await tagManifest(fromConfig, 'basic/app', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
      expect(readBack(reg.host, 'basic/app:v1', {}, 'ci:s3cret').manifestDigest).toBe(small.manifestDigest);
    } finally {
      await reg.stop();
      await rm(cfgDir, { recursive: true, force: true });
    }
  });

  it('bearer token challenge: a token per scope from the realm the registry names, mounts ask for pull on the source', async () => {
    const reg = await startRegistry({ kind: 'token', user: 'ci', password: 'tok3n' });
    try {
      const env = { SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 'tok3n' };
      const client = new RegistryClient(reg.host, { ...quick, env });
      await pushImage(client, 'tok/a', small);
      const b = await pushImage(client, 'tok/b', small, ['tok/a']);
      expect(b.blobs.map((x) => x.outcome)).toEqual(['mounted', 'mounted']);
      await tagManifest(client, 'tok/b', 'v1', { mediaType: MediaType.ociManifest, raw: small.manifestRaw });
      expect(reg.tokenScopes).toContain('repository:tok/a:pull,push');
      expect(reg.tokenScopes).toContain('repository:tok/a:pull');
      const got = await new RegistryClient(reg.host, { ...quick, env }).getManifest('tok/b', 'v1');
      expect(got?.digest).toBe(small.manifestDigest);
      expect(sha256(got!.raw)).toBe(small.manifestDigest);
      const denied = await pushImage(new RegistryClient(reg.host, { ...quick, env: { SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 'wrong' } }), 'tok/c', small).catch((e: unknown) => e);
      expect((denied as Error).message).toMatch(/^the token service 127\.0\.0\.1:\d+ rejected the credentials for 127\.0\.0\.1:\d+ \(from SLIM_REGISTRY_USER\/SLIM_REGISTRY_PASSWORD\)$/);
    } finally {
      await reg.stop();
    }
  });
});
