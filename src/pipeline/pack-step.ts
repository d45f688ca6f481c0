import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ClosureResult } from '../closure/closure.js';
import { planPack } from '../pack/plan.js';
import { gzipLayer, writeLayer } from '../pack/layer-writer.js';
import { buildImage, type BuiltImage } from '../pack/image-builder.js';
import { imageArchiveStream } from '../sinks/image-archive-writer.js';
import { SLIM_VERSION } from '../version.js';
import { holdImage } from '../runtime/run-images.js';
import type { BuildDeps, BuildOptions, OpenedImage, TraceResult } from './build-types.js';

export interface Packed {
  plan: ReturnType<typeof planPack>;
  layer: Awaited<ReturnType<typeof writeLayer>>;
  built: ReturnType<typeof buildImage>;
  slimId: string;
  /** The image passed: tagged with its output name, it stays when the run's tag goes. */
  keep(repository: string, tag: string): Promise<void>;
  /** A repaired image replaces it: remove its run tag now (the image goes with it unless something else names it). */
  discard(): Promise<void>;
}

/** Plan, write and load one slim image; it stays provisional (removed on failure or Ctrl-C) until kept. */
export async function packAndLoad(opened: OpenedImage, closure: ClosureResult, opts: Pick<BuildOptions, 'image' | 'epoch'>, pack: { backend: TraceResult['backend']; harden?: { stripSetid: boolean; user?: string } }, round: number, { runtime, log, scope }: BuildDeps): Promise<Packed> {
  const { img, spool, tmp } = opened;
  log.step(`packing ${closure.selection.size} entries`);
  const plan = planPack(img.index, closure.selection, img.config, {
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    provenance: { sourceName: opts.image, sourceDigest: img.configDigest, slimVersion: SLIM_VERSION, probe: pack.backend },
    ...(pack.harden ? { harden: pack.harden } : {}),
  });
  // A plain tar: the engine takes one, and only the image that passes is compressed, for the outputs that travel.
  const layer = await writeLayer(plan, spool, join(tmp, `layer-${round}.tar`), scope.signal, 'none');
  const built = buildImage(plan, layer);
  // Provisional: loaded under this run's own tag (slim-run/<run id>:slim-<round>), which goes when the run ends.
  // Parallel runs that make the same image each hold it by their own tag, so none removes it under another.
  const held = await holdImage(runtime, scope, built.configDigest, `slim-${round}`);
  const archive = new PassThrough();
  imageArchiveStream(built, { repoTags: held.repoTags }).pipe(archive);
  const slimId = await runtime.loadImage(archive, scope.signal);
  return {
    plan,
    layer,
    built,
    slimId,
    keep: (repository, tag) => runtime.tagImage(slimId, repository, tag),
    discard: () => held.release(),
  };
}

/** The verified image with its layer gzip'd: the same config, so the same image ID, for the outputs that travel. */
export async function compressed(packed: Pick<Packed, 'plan' | 'built'>, dir: string, signal: AbortSignal): Promise<BuiltImage> {
  const layer = await gzipLayer(packed.built.layer, join(dir, `${packed.built.layer.diffId.slice(7, 19)}.tar.gz`), signal);
  return buildImage(packed.plan, layer);
}
