import { SlimError } from '../errors.js';
import { CLEANUP, REQUEST, statusOf, wrap, type DockerEngine } from './docker-requests.js';

export async function createVolume(engine: DockerEngine, name: string, labels: Record<string, string>): Promise<void> {
  const { docker, calls } = engine;
  calls.throwIfAborted();
  try {
    // Not aborted midway: the engine would make the volume anyway, and nobody would remove it.
    await calls.call(`creating volume ${name}`, () => docker.createVolume({ Name: name, Labels: labels }), { ...REQUEST, abortable: false });
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw wrap(`creating volume ${name}`, err);
  }
  if (calls.aborted) {
    await removeVolume(engine, name).catch(() => {});
    calls.throwIfAborted();
  }
}

export async function removeVolume({ docker, calls }: DockerEngine, name: string): Promise<void> {
  try {
    await calls.call(`removing volume ${name}`, (abortSignal) => docker.getVolume(name).remove({ force: true, abortSignal }), CLEANUP);
  } catch (err) {
    if (err instanceof SlimError) throw err;
    if (statusOf(err) !== 404) throw wrap(`removing volume ${name}`, err);
  }
}

export async function volumeExists({ docker, calls }: DockerEngine, name: string): Promise<boolean> {
  try {
    await calls.call(`inspecting volume ${name}`, (abortSignal) => docker.getVolume(name).inspect({ abortSignal }), REQUEST);
    return true;
  } catch (err) {
    if (err instanceof SlimError) throw err;
    if (statusOf(err) === 404) return false;
    throw wrap(`inspecting volume ${name}`, err);
  }
}
