import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { familiarName, flavourOf, loadedImageOf, qualifiedName } from '../../src/runtime/engine-flavour.js';
import { dockerArchiveNames, dockerArchiveOnly, intoMount } from '../../src/runtime/podman-archive.js';
import { fillsVolumes, withSeccompFile } from '../../src/runtime/podman-create.js';

async function mkTar(entries: { name: string; type?: 'file' | 'directory' | 'symlink'; body?: string; linkname?: string; uid?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), uid: e.uid ?? 0, gid: e.uid ?? 0 }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function tarEntries(buf: Buffer): Promise<{ name: string; type: string; uid: number; body: string }[]> {
  const extract = tar.extract();
  Readable.from([buf]).pipe(extract);
  const out: { name: string; type: string; uid: number; body: string }[] = [];
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e as AsyncIterable<Buffer>) chunks.push(c);
    out.push({ name: e.header.name, type: e.header.type ?? 'file', uid: e.header.uid ?? 0, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('Docker or Podman, from GET /version', () => {
  it('Podman lists its engine as the component "Podman Engine"', () => {
    expect(flavourOf({ Components: [{ Name: 'Podman Engine' }, { Name: 'Conmon' }] })).toBe('podman');
    expect(flavourOf({ Components: [{ Name: 'Engine' }, { Name: 'containerd' }, { Name: 'runc' }] })).toBe('docker');
    expect(flavourOf({})).toBe('docker');
  });
});

describe('image names on Podman', () => {
  it('a repository without a registry is tagged localhost/…, as Podman names what it loads and builds', () => {
    expect(qualifiedName('podman', 'slim-test/app')).toBe('localhost/slim-test/app');
    expect(qualifiedName('podman', 'app:1-slim')).toBe('localhost/app:1-slim');
    for (const kept of ['localhost/app', '127.0.0.1:5000/app', 'registry.example/app:1', 'sha256:' + 'a'.repeat(64), 'a'.repeat(12)]) expect(qualifiedName('podman', kept)).toBe(kept);
    expect(qualifiedName('docker', 'slim-test/app')).toBe('slim-test/app');
  });

  it('tags read as Docker shows them', () => {
    expect(['localhost/slim-fixture/x:1', 'docker.io/library/debian:bookworm', 'docker.io/me/app:2', 'quay.io/a/b:c'].map(familiarName)).toEqual(['slim-fixture/x:1', 'debian:bookworm', 'me/app:2', 'quay.io/a/b:c']);
  });

  it('the loaded image, from what Docker and Podman say after a load', () => {
    const id = 'sha256:' + 'b'.repeat(64);
    expect(loadedImageOf([{ stream: `Loaded image ID: ${id}\n` }])).toEqual({ id });
    expect(loadedImageOf([{ stream: `Loaded image: ${id}` }])).toEqual({ id });
    expect(loadedImageOf([{ stream: 'Loaded image: slim-run/r1:input\n' }])).toEqual({ name: 'slim-run/r1:input' });
    expect(loadedImageOf([{ stream: 'Loaded image(s): localhost/slim-run/r1:input,localhost/x:1' }])).toEqual({ name: 'localhost/slim-run/r1:input' });
    expect(loadedImageOf([{ stream: 'Getting image source signatures\nLoaded image: localhost/a:b\n' }])).toEqual({ name: 'localhost/a:b' });
    expect(loadedImageOf([{ status: 'nothing' }])).toEqual({});
  });
});

describe('archives to and from Podman', () => {
  it('an archive that is an OCI layout and a docker-archive loads as the docker-archive (whose RepoTags Podman applies)', async () => {
    const both = await mkTar([{ name: 'oci-layout', body: '{}' }, { name: 'blobs/sha256/aa', body: 'config' }, { name: 'index.json', body: '{}' }, { name: 'manifest.json', body: '[]' }]);
    const out = await tarEntries(await collect(dockerArchiveOnly(Readable.from([both]))));
    expect(out.map((e) => e.name)).toEqual(['blobs/sha256/aa', 'manifest.json']);
  });

  it('a volume\'s entries named from the path\'s base as Docker names them; other entries as they are', async () => {
    const podman = await mkTar([{ name: '/', type: 'directory' }, { name: '/a.txt', body: 'hi', uid: 7 }, { name: '/sub', type: 'directory' }, { name: '/sub/l', type: 'symlink', linkname: '../a.txt' }]);
    const out = await tarEntries(await collect(dockerArchiveNames(Readable.from([podman]), '/.slim-out/')));
    expect(out.map((e) => [e.name, e.type])).toEqual([['.slim-out/', 'directory'], ['.slim-out/a.txt', 'file'], ['.slim-out/sub', 'directory'], ['.slim-out/sub/l', 'symlink']]);
    expect(out[1]).toMatchObject({ uid: 7, body: 'hi' });
    const plain = await mkTar([{ name: 'passwd', body: 'root:x:0:0::/root:/bin/sh\n' }]);
    expect((await tarEntries(await collect(dockerArchiveNames(Readable.from([plain]), '/etc/passwd')))).map((e) => e.name)).toEqual(['passwd']);
  });

  it('an archive put at / whose entries lead into a volume goes to the volume\'s mount point, as Docker follows mounts', async () => {
    const copy = await mkTar([{ name: '.slim-volume/', type: 'directory' }, { name: '.slim-volume/a.txt', body: 'hi', uid: 1234 }, { name: '.slim-volume/d/', type: 'directory' }]);
    const put = intoMount(Readable.from([copy]), '/', ['/.slim-volume', '/other']);
    expect(await put.target).toBe('/.slim-volume');
    expect((await tarEntries(await collect(put.archive))).map((e) => [e.name, e.uid])).toEqual([['./', 0], ['a.txt', 1234], ['d', 0]]);
    const outside = intoMount(Readable.from([await mkTar([{ name: '.slim-volume/a', body: 'x' }, { name: 'etc/passwd', body: 'y' }])]), '/', ['/.slim-volume']);
    expect(await outside.target).toBe('/.slim-volume');
    await expect(collect(outside.archive)).rejects.toThrow('/etc/passwd is outside /.slim-volume');
    const elsewhere = intoMount(Readable.from([await mkTar([{ name: 'etc/hosts', body: 'z' }])]), '/', ['/.slim-volume']);
    expect(await elsewhere.target).toBe('/');
    expect((await tarEntries(await collect(elsewhere.archive))).map((e) => e.name)).toEqual(['etc/hosts']);
  });

  it('a source that fails ends the re-packed stream with its error', async () => {
    const half = (await mkTar([{ name: 'a', body: 'x'.repeat(5000) }])).subarray(0, 1000);
    const broken = new Readable({ read() {} });
    broken.push(half);
    setImmediate(() => broken.destroy(new Error('upload cut')));
    await expect(collect(dockerArchiveOnly(broken))).rejects.toThrow('upload cut');
  });
});

describe('creating containers on Podman', () => {
  it('a seccomp profile goes to a file for the create only; a remote Podman cannot read one', async () => {
    const profile = '{"defaultAction":"SCMP_ACT_ERRNO"}';
    const { options, done } = await withSeccompFile({ Image: 'x', HostConfig: { SecurityOpt: ['no-new-privileges', `seccomp=${profile}`] } }, true);
    const opt = options.HostConfig!.SecurityOpt!;
    expect(opt[0]).toBe('no-new-privileges');
    const file = opt[1]!.replace(/^seccomp=/, '');
    expect(readFileSync(file, 'utf8')).toBe(profile);
    await done();
    expect(() => readFileSync(file)).toThrow();
    await expect(withSeccompFile({ Image: 'x', HostConfig: { SecurityOpt: [`seccomp=${profile}`] } }, false)).rejects.toThrow(/seccomp profile only as a file on its own machine/);
    const untouched = { Image: 'x', HostConfig: { SecurityOpt: ['seccomp=/etc/profile.json'] } };
    expect((await withSeccompFile(untouched, false)).options).toBe(untouched);
  });

  it('only a container with a writable named volume is initialised, to fill it as Docker does at create', () => {
    expect(fillsVolumes({ image: 'p', labels: {}, volumes: [{ source: 'v', target: '/.slim-probe', readOnly: false }] })).toBe(true);
    expect(fillsVolumes({ image: 'p', labels: {}, volumes: [{ source: 'v', target: '/src', readOnly: true }] })).toBe(false);
    expect(fillsVolumes({ image: 'p', labels: {} })).toBe(false);
  });
});
