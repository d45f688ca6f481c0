import { fileURLToPath } from 'node:url';
import { hashDir } from '../util/dir-hash.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import { cachedProbeArchive } from './host-probe.js';

/** The probes/ folder shipped with slim. */
export function probesDir(): string {
  return fileURLToPath(new URL('../../probes/', import.meta.url));
}

/** The probe image is tagged by a hash of its sources, so a changed sensor is rebuilt and an unchanged one reused. */
export function probeImageTag(dir = probesDir()): string {
  return `slim-probe:${hashDir(dir).slice(0, 16)}`;
}

/**
 * Make sure the engine has the probe image (built from probes/ through the engine's own build
 * API, so it also works with a remote DOCKER_HOST). `SLIM_PROBE_BASE` picks the build base. The
 * daemonless runtime builds no images: probes/build.sh runs on this machine instead, once per
 * probe version (see host-probe.ts), and the result is loaded.
 */
export async function ensureProbeImage(runtime: Runtime, log: Logger, signal: AbortSignal): Promise<string> {
  const tag = probeImageTag();
  if (await runtime.inspectImage(tag)) return tag;
  if ((await runtime.ping()).flavour === 'oci') {
    await runtime.loadImage(await cachedProbeArchive(probesDir(), tag, signal, (line) => log.step(line)), signal);
    return tag;
  }
  const base = process.env.SLIM_PROBE_BASE ?? 'debian:bookworm';
  log.step(`building the probe image ${tag} from ${base} (once per probe version)`);
  await runtime.buildImage(probesDir(), tag, { BASE: base }, signal);
  await runtime.removeDanglingImages('io.slim.probe-build-stage=1');
  return tag;
}
