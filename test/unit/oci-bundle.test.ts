import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleSpec, capabilitySet, containerArgs, containerEnv, ociSeccomp, type BundleInput } from '../../src/oci/bundle-spec.js';
import { hostPathIn, resolveInContainer } from '../../src/oci/container-paths.js';
import { archivePath, extractInto } from '../../src/oci/path-archive.js';
import { CAPABILITIES } from '../../src/runtime/docker-run-flags.js';
import { materialize } from '../../src/oci/materialize.js';
import { flatten } from '../../src/rootfs/flatten.js';
import type { ContentReader } from '../../src/sources/content-spool.js';

const work = mkdtempSync(join(tmpdir(), 'slim-oci-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const input = (over: Partial<BundleInput> = {}): BundleInput => ({
  rootfs: '/b/rootfs', args: ['/app'], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0, additionalGids: [], capAdd: [], readonlyRoot: false,
  hostname: 'h', network: 'host', mounts: [], etcFiles: { hosts: '/b/hosts', hostname: '/b/hostname', resolvConf: '/b/resolv.conf' }, noNewPrivileges: false, ...over,
});

describe('the bundle spec', () => {
  it('gives Docker\'s default capabilities plus the added ones; a non-root process keeps only the bounding set', () => {
    expect(capabilitySet([], CAPABILITIES)).toHaveLength(14);
    expect(capabilitySet(['SYS_PTRACE', 'CHOWN'], CAPABILITIES)).toEqual(expect.arrayContaining(['CAP_SYS_PTRACE', 'CAP_CHOWN', 'CAP_KILL']));
    expect(capabilitySet(['SYS_PTRACE', 'CHOWN'], CAPABILITIES)).toHaveLength(15);
    expect(capabilitySet(['ALL'], CAPABILITIES)).toHaveLength(CAPABILITIES.length);
    const root = bundleSpec(input({ capAdd: ['SYS_ADMIN'] }), CAPABILITIES) as { process: { capabilities: Record<string, string[]> } };
    expect(root.process.capabilities.effective).toContain('CAP_SYS_ADMIN');
    const user = bundleSpec(input({ uid: 1000, gid: 1000 }), CAPABILITIES) as { process: { capabilities: Record<string, string[]>; user: unknown } };
    expect(user.process.capabilities.effective).toEqual([]);
    expect(user.process.capabilities.bounding).toContain('CAP_CHOWN');
    expect(user.process.user).toEqual({ uid: 1000, gid: 1000 });
  });

  it('shares the host\'s network or makes a new one; read-only root, mounts after the engine\'s own, seccomp and no-new-privileges as asked', () => {
    type Spec = { linux: { namespaces: { type: string }[]; seccomp?: unknown }; root: { readonly: boolean }; mounts: { destination: string }[]; process: { noNewPrivileges: boolean } };
    const host = bundleSpec(input(), CAPABILITIES) as Spec;
    expect(host.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(host.linux.seccomp).toBeUndefined();
    const none = bundleSpec(input({
      network: 'none', readonlyRoot: true, noNewPrivileges: true,
      mounts: [{ destination: '/data', type: 'bind', source: '/v/data', options: ['rbind', 'ro'] }],
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { name: 'write', action: 'SCMP_ACT_ALLOW' }] },
    }), CAPABILITIES) as Spec;
    expect(none.linux.namespaces.map((n) => n.type)).toContain('network');
    expect(none.root.readonly).toBe(true);
    expect(none.process.noNewPrivileges).toBe(true);
    expect(none.mounts.map((m) => m.destination).slice(-4)).toEqual(['/etc/resolv.conf', '/etc/hostname', '/etc/hosts', '/data']);
    expect(none.linux.seccomp).toEqual({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'SCMP_ACT_ALLOW' }] });
    expect(ociSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' })).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] });
  });

  it('builds the environment and the command as Docker does', () => {
    expect(containerEnv(['PATH=/x', 'A=1'], ['A=2', 'B=3'], 'box', '/home/app')).toEqual(['PATH=/x', 'HOSTNAME=box', 'A=2', 'B=3', 'HOME=/home/app']);
    expect(containerEnv([], ['HOME=/tmp'], 'box', '/root')).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=box', 'HOME=/tmp']);
    const image = { Entrypoint: ['/entry'], Cmd: ['serve'] };
    expect(containerArgs(image, {})).toEqual(['/entry', 'serve']);
    expect(containerArgs(image, { cmd: ['run', 'x'] })).toEqual(['/entry', 'run', 'x']);
    expect(containerArgs(image, { entrypoint: ['/sensor'] })).toEqual(['/sensor']);
    expect(containerArgs(image, { entrypoint: ['/sensor'], cmd: ['--', '/entry'] })).toEqual(['/sensor', '--', '/entry']);
    expect(containerArgs({ Entrypoint: null, Cmd: null }, {})).toEqual([]);
  });
});

/** A container's filesystem on disk: a rootfs with an absolute and a climbing symlink, and a volume. */
function containerFs(): { rootfs: string; volume: string; outside: string; mounts: { target: string; source: string }[] } {
  const base = mkdtempSync(join(work, 'c-'));
  const rootfs = join(base, 'rootfs');
  const volume = join(base, 'volume');
  const outside = join(base, 'outside');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(volume);
  mkdirSync(outside);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  symlinkSync('/etc', join(rootfs, 'abs'));
  symlinkSync('../../../../../../outside', join(rootfs, 'climb'));
  symlinkSync('/data', join(rootfs, 'to-volume'));
  return { rootfs, volume, outside, mounts: [{ target: '/data', source: volume }] };
}

describe('paths of a container, from the host', () => {
  it('maps a path to the innermost mount that holds it, else to the rootfs', () => {
    const mounts = [{ target: '/data', source: '/v/a' }, { target: '/data/deep', source: '/v/b' }];
    expect(hostPathIn('/r', mounts, '/etc/passwd')).toBe('/r/etc/passwd');
    expect(hostPathIn('/r', mounts, '/data')).toBe('/v/a');
    expect(hostPathIn('/r', mounts, '/data/x')).toBe('/v/a/x');
    expect(hostPathIn('/r', mounts, '/data/deep/y')).toBe('/v/b/y');
    expect(hostPathIn('/r', mounts, '/database')).toBe('/r/database');
  });

  it('follows symlinks inside the container: an absolute one to the container\'s root, a climbing one stops at it, one into a volume to the volume', async () => {
    const c = containerFs();
    expect(await resolveInContainer(c.rootfs, c.mounts, '/abs/passwd')).toBe('/etc/passwd');
    expect(await resolveInContainer(c.rootfs, c.mounts, '/climb/secret')).toBe('/outside/secret');
    expect(hostPathIn(c.rootfs, c.mounts, await resolveInContainer(c.rootfs, c.mounts, '/climb/secret'))).toBe(join(c.rootfs, 'outside/secret'));
    expect(await resolveInContainer(c.rootfs, c.mounts, '/to-volume/f')).toBe('/data/f');
    expect(await resolveInContainer(c.rootfs, c.mounts, '/abs', { followLast: false })).toBe('/abs');
  });
});

async function tarOf(entries: { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string }[]): Promise<Readable> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644, ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

describe('the archive API of a daemonless container', () => {
  it('extracts through the container\'s own symlinks, never the host\'s: a hostile archive writes inside the rootfs only', async () => {
    const c = containerFs();
    await extractInto(c, '/', await tarOf([
      { name: 'abs/hostile', body: 'x' },
      { name: 'climb/secret', body: 'overwritten?' },
      { name: 'mine', type: 'symlink', linkname: '/' + c.outside.slice(1) },
      { name: 'mine/planted', body: 'y' },
      { name: 'to-volume/kept', body: 'in the volume' },
    ]));
    expect(readFileSync(join(c.rootfs, 'etc/hostile'), 'utf8')).toBe('x');
    expect(readFileSync(join(c.outside, 'secret'), 'utf8')).toBe('host secret\n');
    expect(existsSync(join(c.outside, 'planted'))).toBe(false);
    expect(readFileSync(join(c.rootfs, c.outside, 'planted'), 'utf8')).toBe('y');
    expect(readFileSync(join(c.volume, 'kept'), 'utf8')).toBe('in the volume');
    await expect(extractInto(c, '/', await tarOf([{ name: '../escape', body: 'z' }]))).rejects.toThrow(/climbs out of the image root/);
    expect(existsSync(join(c.rootfs, '..', 'escape'))).toBe(false);
  });

  it('archives a path named by its last component, a symlink as a symlink, a volume where it is mounted', async () => {
    const c = containerFs();
    writeFileSync(join(c.volume, 'out.txt'), 'result');
    const names = async (p: string) => {
      const extract = tar.extract();
      (await archivePath(c, p)).pipe(extract);
      const out: string[] = [];
      for await (const e of extract) {
        out.push(`${e.header.type} ${e.header.name}${e.header.linkname ? ` -> ${e.header.linkname}` : ''}`);
        e.resume();
      }
      return out;
    };
    expect(await names('/etc/passwd')).toEqual(['file passwd']);
    expect(await names('/abs')).toEqual(['symlink abs -> /etc']);
    expect(await names('/data')).toEqual(['directory data/', 'file data/out.txt']);
    expect(await names('/to-volume/out.txt')).toEqual(['file out.txt']);
    await expect(archivePath(c, '/nothing')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readlinkSync(join(c.rootfs, 'abs'))).toBe('/etc');
    expect(lstatSync(join(c.rootfs, 'abs')).isSymbolicLink()).toBe(true);
  });
});

describe('unpacking an image into a rootfs', () => {
  it('makes every entry with its owner, mode and time, hard links as links, symlinks as written, and follows none of them on the host', async () => {
    const bodies: Record<string, string> = { '/bin/tool': 'ELF', '/etc/shadow': 'secret' };
    const meta = (mode: number, uid = 0, gid = 0) => ({ mode, uid, gid, mtime: 1_600_000_000 });
    const index = flatten([[
      { name: 'bin/', type: 'directory', ...meta(0o755), size: 0 },
      { name: 'bin/tool', type: 'file', ...meta(0o4755), size: 3, at: { layer: 0, offset: 0, size: 3 } },
      { name: 'bin/tool2', type: 'link', linkname: 'bin/tool', ...meta(0o755), size: 0 },
      { name: 'etc/', type: 'directory', ...meta(0o700, 100, 101), size: 0 },
      { name: 'etc/shadow', type: 'file', ...meta(0o640, 0, 42), size: 6, at: { layer: 0, offset: 3, size: 6 } },
      { name: 'host-etc', type: 'symlink', linkname: '/etc', ...meta(0o777), size: 0 },
    ]]);
    const content: ContentReader = {
      read: async (e) => Buffer.from(bodies[e.path]!),
      stream: (e) => Readable.from([Buffer.from(bodies[e.path]!)]),
    };
    const root = join(mkdtempSync(join(work, 'unpack-')), 'rootfs');
    const made = await materialize(index, content, root);
    expect(made).toEqual({ entries: 6, skipped: [] });
    const st = (p: string) => lstatSync(join(root, p));
    expect(st('bin/tool').mode & 0o7777).toBe(0o4755);
    expect(st('bin/tool2').ino).toBe(st('bin/tool').ino);
    expect([st('etc').uid, st('etc').gid, st('etc').mode & 0o7777]).toEqual([100, 101, 0o700]);
    expect([st('etc/shadow').gid, st('etc/shadow').mtimeMs]).toEqual([42, 1_600_000_000_000]);
    expect(readlinkSync(join(root, 'host-etc'))).toBe('/etc');
    expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toBe('secret');
    // A subtree alone, as a volume is filled from the image: its top becomes the volume's root.
    const volume = join(mkdtempSync(join(work, 'vol-')), '_data');
    await materialize(index, content, volume, '/etc');
    expect(readFileSync(join(volume, 'shadow'), 'utf8')).toBe('secret');
    expect(lstatSync(volume).mode & 0o7777).toBe(0o700);
  });
});
