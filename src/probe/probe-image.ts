import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import type { Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';

/** The probes/ folder shipped with slim. */
export function probesDir(): string {
  return fileURLToPath(new URL('../../probes/', import.meta.url));
}

/** The probe image is tagged by a hash of its sources, so a changed sensor is rebuilt and an unchanged one reused. */
export async function probeImageTag(dir = probesDir()): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .sort();
  for (const f of files) {
    hash.update(relative(dir, f) + '\0');
    hash.update(await readFile(f));
    hash.update('\0');
  }
  return `slim-probe:${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Make sure the engine has the probe image (built from probes/ through the engine's own build
 * API, so it also works with a remote DOCKER_HOST). `SLIM_PROBE_BASE` picks the build base.
 */
export async function ensureProbeImage(runtime: Runtime, log: Logger, signal: AbortSignal): Promise<string> {
  const tag = await probeImageTag();
  if (await runtime.inspectImage(tag)) return tag;
  const base = process.env.SLIM_PROBE_BASE ?? 'debian:bookworm';
  log.step(`building the probe image ${tag} from ${base} (once per probe version)`);
  await runtime.buildImage(probesDir(), tag, { BASE: base }, signal);
  return tag;
}
