import { stat } from 'node:fs/promises';
import { InternalError, SlimError } from '../errors.js';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { dockerArchiveSource } from './archive-source.js';
import { engineSource } from './engine-source.js';
import type { ImageSource } from './image-source.js';
import { layoutSource } from './layout-source.js';
import { ociArchiveSource } from './oci-archive-source.js';
import { describeSource, type SourceRef } from './source-ref.js';
import { checkSourcePlatform } from './platform-check.js';
import type { Platform } from '../image/platform.js';

export interface SourceDeps {
  runtime: Runtime;
  /** Holds the temp files a source needs (the engine's save, an unpacked oci-archive). */
  scope: Scope;
  /** An engine image as it was looked up: saved by this ID, its size what progress counts against. */
  inspect?: ImageInspect;
  /** Opens a `registry:` input: the registry client is a layer above sources, so the caller brings it. */
  registry?: RegistryOpener;
  /** --platform: the image of a file input's index to read (else the host's), and what its config must say. */
  platform?: Platform;
}

/** The source for HOST/REPO[:TAG|@DIGEST], its errors starting with `label`. */
export type RegistryOpener = (ref: string, label: string) => Promise<ImageSource>;

/** The source for an input as `slim build`, `inspect` and `diff` take it; a file or layout that is not there, or an image not in its registry, fails here. */
export async function openSource(ref: SourceRef, deps: SourceDeps): Promise<ImageSource> {
  const source = await openAny(ref, deps);
  return ref.kind === 'engine' || ref.kind === 'registry' ? source : checkSourcePlatform(source, deps.platform);
}

async function openAny(ref: SourceRef, { runtime, scope, inspect, registry, platform }: SourceDeps): Promise<ImageSource> {
  if (ref.kind === 'engine') return engineSource(ref.ref, runtime, scope, inspect);
  const label = describeSource(ref);
  if (ref.kind === 'registry') {
    if (!registry) throw new InternalError(`${label}: no registry client was given to read it`);
    return registry(ref.ref, label);
  }
  if (ref.kind === 'oci') {
    await mustExist(ref.dir);
    return layoutSource(ref.dir, ref.tag, label, platform);
  }
  await mustExist(ref.file);
  if (ref.kind === 'docker-archive') return dockerArchiveSource(ref.file, label, { untrusted: true });
  return ociArchiveSource(ref.file, ref.tag, label, scope, platform);
}

export async function mustExist(p: string): Promise<void> {
  if (!(await stat(p).then(() => true, () => false))) throw new SlimError(`${p} does not exist`, { code: 'SOURCE_NOT_FOUND' });
}
