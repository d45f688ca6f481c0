import type { Logger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import type { Pushed } from '../registry/push.js';
import type { RegistryRef } from '../registry/registry-ref.js';
import type { Evidence } from '../sinks/image-sink.js';
import { registrySinks, type RegistryOptions } from '../sinks/registry-sink.js';
import { prepare, publish } from '../sinks/publish.js';

export type { Evidence } from '../sinks/image-sink.js';
export type { RegistryOptions } from '../sinks/registry-sink.js';

/** Push to each registry in turn, as the registry sinks do; repositories on one host share blobs by mounts. */
export async function publishToRegistries(targets: (RegistryRef & { tag: string })[], img: BuiltImage, evidence: Evidence | undefined, opts: RegistryOptions, log: Logger, signal: AbortSignal): Promise<Pushed[]> {
  const sinks = registrySinks(targets, 'latest', opts);
  return (await publish(sinks, img, { signal, log, ...(evidence ? { evidence } : {}) })).pushed;
}

/** Before the build: each registry output's registry takes a push to its repository (the registry sinks' preflight). */
export async function checkRegistries(targets: RegistryRef[], opts: RegistryOptions, log: Logger, signal: AbortSignal): Promise<void> {
  await prepare(registrySinks(targets, 'latest', opts), { signal, log });
}
