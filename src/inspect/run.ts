import { readPackageDatabase } from '../packages/database.js';
import { analyseImage, type InspectReport } from './analyse.js';
import { diffImages, type DiffInput, type DiffReport } from './diff.js';
import { replayLayers } from './layers.js';
import type { RegistryInputOptions } from '../registry/registry-source.js';
import { findImage, readFromEngine, sameSizeButDifferent, type EngineDeps } from './open.js';

/** `slim inspect`: read the image with its layers kept apart, replay them, and analyse. */
export async function inspectFromEngine(image: string, deps: EngineDeps, opts: { top?: number; registry?: RegistryInputOptions } = {}): Promise<InspectReport> {
  const { id, img, spool } = await readFromEngine(await findImage(image, deps, opts.registry), deps, { keepLayers: true });
  const layers = img.layers ?? [];
  const replay = replayLayers(layers.map((l) => l.entries));
  return analyseImage(
    {
      image: { ref: image, id },
      config: img.config,
      layers,
      packages: await readPackageDatabase(replay.index, spool),
      ...(opts.top !== undefined ? { top: opts.top } : {}),
    },
    replay,
  );
}

/** `slim diff`: both images read from the engine or their files, equal-sized files compared byte for byte. */
export async function diffFromEngine(imageA: string, imageB: string, deps: EngineDeps, opts: Pick<DiffInput, 'by' | 'depth'> & { registry?: RegistryInputOptions }): Promise<DiffReport> {
  // Both are looked up before either is read: a wrong name fails at once.
  const { registry, ...grouping } = opts;
  const foundA = await findImage(imageA, deps, registry);
  const foundB = await findImage(imageB, deps, registry);
  const a = await readFromEngine(foundA, deps);
  const b = await readFromEngine(foundB, deps);
  const differing = await sameSizeButDifferent(a.img.index, a.spool, b.img.index, b.spool);
  return diffImages({
    a: { ref: imageA, id: a.id, index: a.img.index, packages: (await readPackageDatabase(a.img.index, a.spool)).files },
    b: { ref: imageB, id: b.id, index: b.img.index },
    contentDiffers: (x, y) => x.size !== y.size || differing.has(x.path),
    ...grouping,
  });
}
