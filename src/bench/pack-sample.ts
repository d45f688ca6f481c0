import { join } from 'node:path';
import type { OpenedImage } from '../pipeline/build-types.js';
import { Selection } from '../closure/selection.js';
import { planPack, type PackPlan } from '../pack/plan.js';
import { writeLayer, type WrittenLayer } from '../pack/layer-writer.js';

/** Pack what a slim run might keep, without a probe: every nth regular file, and all directories. */
export async function packEveryNth(image: string, opened: Pick<OpenedImage, 'img' | 'spool' | 'tmp'>, nth: number, signal: AbortSignal): Promise<{ plan: PackPlan; layer: WrittenLayer; imageFiles: number }> {
  const { img, spool, tmp } = opened;
  const sel = new Selection();
  let n = 0;
  for (const e of img.index.sorted()) if (e.kind === 'dir' || (e.kind === 'file' && n++ % nth === 0)) sel.add(e.path, { why: 'traced' });
  const plan = planPack(img.index, sel, img.config, { provenance: { sourceName: image, sourceDigest: img.configDigest, slimVersion: 'bench', probe: 'none' } });
  const layer = await writeLayer(plan, spool, join(tmp, `sample-${nth}.tgz`), signal);
  return { plan, layer, imageFiles: n };
}
