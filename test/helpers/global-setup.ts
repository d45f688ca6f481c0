import { requireEngine } from './engine.js';
import { buildFixture, fixtureNames } from './fixtures.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { ensureProbeImage } from '../../src/probe/probe-image.js';
import { silentLogger } from '../../src/log.js';

/** Once per integration run: an engine must answer; fixtures and the probe image are built (or reused by hash). */
export default async function setup(): Promise<void> {
  requireEngine();
  for (const name of fixtureNames()) buildFixture(name);
  await ensureProbeImage(new DockerRuntime(), silentLogger, new AbortController().signal);
}
