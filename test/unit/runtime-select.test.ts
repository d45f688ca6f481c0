import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { candidates, parseRuntimeChoice, podmanEndpoint, selectFrom, selectRuntime, type Candidate } from '../../src/runtime/select-runtime.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { SlimError, UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'slim-select-'));
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** An engine that answers GET /version as Docker or as Podman does, on a unix socket of its own. */
async function fakeEngine(name: string, flavour: 'docker' | 'podman'): Promise<string> {
  const path = join(dir, `${name}.sock`);
  const version = flavour === 'podman'
    ? { Version: '4.3.1', ApiVersion: '1.41', Components: [{ Name: 'Podman Engine', Version: '4.3.1' }, { Name: 'Conmon' }] }
    : { Version: '20.10.24', ApiVersion: '1.41', Components: [{ Name: 'Engine', Version: '20.10.24' }, { Name: 'containerd' }] };
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url?.endsWith('/version') ? version : {}));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

const socket = (flavour: 'docker' | 'podman', socketPath: string): Candidate => ({ flavour, url: `unix://${socketPath}`, options: { socketPath }, socketPath });

describe('--runtime', () => {
  it('takes docker, podman, oci and auto (the default); anything else is a usage error listing them', () => {
    expect(parseRuntimeChoice(undefined)).toBe('auto');
    for (const c of ['docker', 'podman', 'oci', 'auto']) expect(parseRuntimeChoice(c)).toBe(c);
    expect(() => parseRuntimeChoice('runc')).toThrow(UsageError);
    expect(() => parseRuntimeChoice('runc')).toThrow('--runtime must be one of docker, podman, oci, auto, not "runc"');
  });
});

describe('the daemonless runtime', () => {
  const daemonless = (version = 'runc version 1.1.5') => ({
    binary: '/usr/sbin/runc',
    make: () => ({ ping: async () => ({ endpoint: '/usr/sbin/runc', version, apiVersion: 'OCI runtime spec 1.0.2', flavour: 'oci' as const }) }) as unknown as Runtime,
  });

  it('oci takes runc or crun as found, and says so', async () => {
    const s = await selectRuntime('oci', { env: {}, daemonless: daemonless() });
    expect(s.flavour).toBe('oci');
    expect(s.line).toBe('runtime: runc version 1.1.5 at /usr/sbin/runc, daemonless (--runtime oci)');
  });

  it('oci without runc or crun fails saying how to get one', async () => {
    const err = await selectRuntime('oci', { env: {} }).catch((e: unknown) => e as SlimError);
    expect(err).toBeInstanceOf(SlimError);
    expect(err).toMatchObject({ code: 'ENGINE_UNREACHABLE', message: '--runtime oci needs runc or crun, and neither is on PATH' });
    expect((err as SlimError).hint).toMatch(/apt-get install runc/);
  });

  it('auto ends at it when no engine answers at the default sockets, saying what did not; never from DOCKER_HOST or CONTAINER_HOST, nor for docker or podman', async () => {
    const missing = [socket('docker', join(dir, 'no-docker.sock')), socket('podman', join(dir, 'no-podman.sock'))];
    const s = await selectFrom('auto', missing, { env: {}, daemonless: daemonless() });
    expect(s.flavour).toBe('oci');
    expect(s.line).toMatch(/^runtime: runc version 1\.1\.5 at \/usr\/sbin\/runc, daemonless \(auto; Docker at unix:\/\/\S+no-docker\.sock: no such socket; Podman at unix:\/\/\S+no-podman\.sock: no such socket\)$/);
    for (const env of [{ DOCKER_HOST: 'unix:///x.sock' }, { CONTAINER_HOST: 'unix:///x.sock' }]) {
      await expect(selectFrom('auto', missing, { env, daemonless: daemonless() })).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE' });
    }
    await expect(selectFrom('podman', missing.slice(1), { env: {}, daemonless: daemonless() })).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE' });
  });
});

describe('where each choice looks', () => {
  it('auto: Docker\'s default socket, then Podman\'s sockets (the user\'s runtime dir first)', () => {
    expect(candidates('auto', { XDG_RUNTIME_DIR: '/run/user/1000' }).map((c) => `${c.flavour} ${c.url}`)).toEqual([
      'docker unix:///var/run/docker.sock',
      'podman unix:///run/user/1000/podman/podman.sock',
      'podman unix:///run/podman/podman.sock',
    ]);
    // A rootless user without XDG_RUNTIME_DIR: Podman's own default for them.
    expect(candidates('podman', {}, 1000).map((c) => c.url)).toEqual(['unix:///run/user/1000/podman/podman.sock', 'unix:///run/podman/podman.sock']);
    expect(candidates('podman', {}, 0).map((c) => c.url)).toEqual(['unix:///run/podman/podman.sock']);
  });

  it('DOCKER_HOST is the one Docker endpoint, and auto does not fall back from it', () => {
    expect(candidates('auto', { DOCKER_HOST: 'tcp://10.0.0.5:2375' }).map((c) => c.url)).toEqual(['tcp://10.0.0.5:2375']);
    expect(candidates('docker', { DOCKER_HOST: 'unix:///tmp/d.sock', CONTAINER_HOST: 'unix:///tmp/p.sock' }).map((c) => c.url)).toEqual(['unix:///tmp/d.sock']);
  });

  it('CONTAINER_HOST is the one Podman endpoint, read as Podman reads it', () => {
    expect(candidates('podman', { CONTAINER_HOST: 'unix://run/podman/podman.sock', XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual([
      { flavour: 'podman', url: 'unix:///run/podman/podman.sock', options: { socketPath: '/run/podman/podman.sock', from: 'CONTAINER_HOST' } },
    ]);
    expect(podmanEndpoint('tcp://127.0.0.1:8888').options).toEqual({ tcp: { host: '127.0.0.1', port: 8888 }, from: 'CONTAINER_HOST' });
    expect(podmanEndpoint('tcp://[::1]:8888').options.tcp).toEqual({ host: '::1', port: 8888 });
    expect(() => podmanEndpoint('ssh://core@host:22/run/podman/podman.sock')).toThrow(/not ssh/);
    expect(() => podmanEndpoint('http://host')).toThrow(/is not unix:\/\/PATH or tcp:\/\/HOST:PORT/);
  });
});

describe('choosing an engine that answers', () => {
  it('auto falls back to a Podman socket when Docker\'s is missing, says why in one line, and points DOCKER_HOST at it for smoke commands', async () => {
    const podman = await fakeEngine('podman-a', 'podman');
    const env: NodeJS.ProcessEnv = {};
    const s = await selectFrom('auto', [socket('docker', join(dir, 'no-docker.sock')), socket('podman', podman)], { env });
    expect(s).toMatchObject({ flavour: 'podman', usual: false });
    expect(s.line).toBe(`engine: Podman 4.3.1 (API 1.41) at unix://${podman} (auto; Docker at unix://${join(dir, 'no-docker.sock')}: no such socket)`);
    expect(env.DOCKER_HOST).toBe(`unix://${podman}`);
  });

  it('takes the first that answers, and tells Docker and Podman apart by what they answer', async () => {
    const docker = await fakeEngine('docker-b', 'docker');
    const podman = await fakeEngine('podman-b', 'podman');
    const env: NodeJS.ProcessEnv = {};
    const s = await selectFrom('auto', [socket('docker', docker), socket('podman', podman)], { env });
    // What slim always did: said only with --verbose.
    expect(s).toMatchObject({ flavour: 'docker', usual: true });
    expect(s.line).toMatch(/^engine: Docker 20\.10\.24 \(API 1\.41\) at unix:\/\/\S+docker-b\.sock \(auto\)$/);
    expect(env.DOCKER_HOST).toBeUndefined();
    // Asked for Podman, a Docker engine answering there is named as what it is.
    expect((await selectFrom('podman', [socket('podman', docker)], { env })).line).toMatch(/\(--runtime podman; it answers as Docker\)$/);
  });

  it('fails naming every endpoint tried and how to start an engine; a lone endpoint fails with its own error', async () => {
    const [a, b] = [join(dir, 'gone-a.sock'), join(dir, 'gone-b.sock')];
    const both = selectFrom('auto', [socket('docker', a), socket('podman', b)], { env: {} });
    await expect(both).rejects.toThrow(`cannot reach a container engine: Docker at unix://${a}: no such socket; Podman at unix://${b}: no such socket`);
    await expect(both).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE', hint: expect.stringMatching(/podman system service --time=0/) });
    const lone = selectFrom('podman', [socket('podman', a)], { env: {} });
    await expect(lone).rejects.toThrow(SlimError);
    await expect(lone).rejects.toThrow(`cannot reach the container engine at unix://${a}`);
    await expect(lone).rejects.toMatchObject({ hint: expect.stringMatching(/^start Podman's service/) });
  });
});
