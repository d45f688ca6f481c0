import type Docker from 'dockerode';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlimError } from '../errors.js';
import { REQUEST, dial, engineMessage, type DockerEngine } from './docker-requests.js';
import type { RunSpec } from './runtime.js';

/**
 * Podman reads `--security-opt seccomp=VALUE` as the path of a profile on the engine's machine,
 * where Docker's API takes the profile itself (its CLI reads the file). The profile goes to a file
 * the engine can read, for the create request only: Podman copies it into the container's spec.
 */
export async function withSeccompFile(options: Docker.ContainerCreateOptions, local: boolean): Promise<{ options: Docker.ContainerCreateOptions; done(): Promise<void> }> {
  const opts: string[] = options.HostConfig?.SecurityOpt ?? [];
  const i = opts.findIndex((o) => /^seccomp[=:]\s*\{/.test(o));
  if (i < 0) return { options, done: async () => {} };
  if (!local) {
    throw new SlimError('Podman takes a seccomp profile only as a file on its own machine, and this Podman service is not on this one', {
      code: 'ENGINE',
      hint: 'run slim where the Podman service runs (its unix socket), or leave out --harden',
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'slim-seccomp-'));
  // A rootless service runs as its own user: it must be able to reach the file (which holds nothing secret).
  await chmod(dir, 0o711);
  const file = join(dir, 'profile.json');
  await writeFile(file, opts[i]!.replace(/^seccomp[=:]\s*/, ''), { mode: 0o644 });
  const SecurityOpt = opts.map((o: string, j: number) => (j === i ? `seccomp=${file}` : o));
  return { options: { ...options, HostConfig: { ...options.HostConfig, SecurityOpt } }, done: () => rm(dir, { recursive: true, force: true }) };
}

/** A writable named volume: the one kind Docker fills from the image when the container is created. */
export function fillsVolumes(spec: RunSpec): boolean {
  return (spec.volumes ?? []).some((v) => !v.readOnly);
}

/**
 * Docker copies the image's files at a mount point into an empty named volume when the container
 * is created; Podman does it only when the container is initialised (mounted, set up for its OCI
 * runtime, not started). Initialising it right after the create gives Docker's order: a container
 * that is created and removed again has filled its volumes.
 */
export async function initialise({ docker, calls }: DockerEngine, id: string, image: string): Promise<void> {
  try {
    await calls.call(`preparing the volumes of container ${id.slice(0, 12)}`, (s) => dial(docker, `/v4.0.0/libpod/containers/${id}/init`, 'POST', { 204: true, 304: true, 404: 'no such container', 500: 'server error' }, s), { ...REQUEST, abortable: false });
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw new SlimError(`Podman could not fill the volumes of a container of ${image} (it does so when the container is initialised): ${engineMessage(err)}`, { code: 'ENGINE', cause: err });
  }
}
