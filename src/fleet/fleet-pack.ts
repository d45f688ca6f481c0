import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SlimError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { ContentSpool } from '../sources/content-spool.js';
import { imageArchiveStream } from '../sinks/image-archive-writer.js';
import type { OutputRef } from '../sinks/output.js';
import { publish, type Published } from '../sinks/publish.js';
import { RegistryHosts, type RegistryOptions } from '../sinks/registry-sink.js';
import { parseRegistryRef } from '../registry/registry-ref.js';
import { sinksFor } from '../sinks/sinks-for.js';
import { checkSameFiles, entriesOf, layeredOf, writeFleetLayer } from './fleet-layers.js';
import type { FleetEntry } from './share-plan.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import { openSource } from '../sources/open-source.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { registryOpener } from '../registry/registry-source.js';
import { readMember, type FleetPlanFile } from './fleet-plan.js';

export interface PackDeps {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}

export interface FleetPackReport {
  ref: string;
  manifestDigest: string;
  layers: { digest: string; size: number; shared: boolean }[];
  published: Published;
}

/**
 * `slim fleet pack --plan FILE REF`: one fan-out job. The image is read again with its evidence;
 * its files must be the ones the plan was made from, key for key; each shared layer it gets must
 * come out with the digest the plan says (the same files give the same blob in every job); the
 * layered image is checked to hold exactly its files, then published.
 */
export async function fleetPack(plan: FleetPlanFile, text: string, outputs: OutputRef[], name: string, registry: RegistryOptions, deps: PackDeps, from?: string): Promise<FleetPackReport> {
  const { log, scope, runtime } = deps;
  const wanted = text.replace(/^registry:/, '');
  const entry = plan.images.find((im) => im.ref === wanted || `${im.ref.replace(/[:@][^/]*$/, '')}@${im.digest}` === wanted);
  if (!entry) throw new UsageError(`${text} is not in the plan: it has ${plan.images.map((im) => im.ref).join(', ')}`);
  const files = from ? await fromOriginal(from, entry, deps, registry.insecure) : await fromSlimImage(entry, { log, scope, insecure: registry.insecure });
  const got = new Map(files.entries.map((e) => [e.path, e.key]));
  const changed = [...new Set([...got.keys(), ...Object.keys(entry.keys)])].filter((p) => got.get(p) !== entry.keys[p]);
  if (changed.length) {
    throw new SlimError(`${from ?? entry.ref} does not hold the files the plan was made from (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''})${from ? '' : ': make the plan again'}`, { code: 'BAD_ARCHIVE' });
  }
  const tmp = await scope.tempDir('slim-fleet-pack-');
  const layers = [];
  for (const n of entry.layers) {
    const s = plan.shared[n]!;
    const layer = await writeFleetLayer(files.read, files.spool, s.paths, join(tmp, `shared-${n}.tar.gz`), scope.signal);
    if (layer.digest !== s.digest) throw new SlimError(`shared layer ${n + 1} came out as ${layer.digest}, the plan says ${s.digest}: its files differ in this image`, { code: 'OUTPUT_FAILED' });
    layers.push(layer);
  }
  layers.push(await writeFleetLayer(files.read, files.spool, entry.own, join(tmp, 'own.tar.gz'), scope.signal));
  const img = layeredOf(entry.config, layers, entry.layers.map((n) => plan.shared[n]!.images.map((i) => plan.images[i]!.ref)));
  const check = await ContentSpool.create(await scope.tempDir('slim-fleet-check-'));
  scope.defer('fleet check spool', () => check.close());
  await checkSameFiles(Object.entries(entry.keys).map(([path, key]) => ({ path, key, bytes: 0, dir: false })), layers, check, entry.ref);
  log.info(`${entry.ref}: ${layers.length} layers (${entry.layers.length} shared) from ${from ?? 'its single-layer image'}, the same ${got.size} entries as its single-layer image`);
  let loaded: string | undefined;
  const keep = async (repository: string, tag: string) => {
    if (!loaded) {
      const archive = new PassThrough();
      imageArchiveStream(img).pipe(archive);
      loaded = await runtime.loadImage(archive, scope.signal);
    }
    await runtime.tagImage(loaded, repository, tag);
  };
  // Another job may have pushed a shared layer already, to its own repository: mounted from there.
  const hosts = new RegistryHosts({ ...registry, attach: false });
  for (const im of plan.images) {
    const r = parseRegistryRef(im.ref);
    hosts.seed(r.host, [r.repository]);
  }
  const published = await publish(sinksFor(outputs, { name, keep, registry: { ...registry, attach: false }, hosts }), img, { signal: scope.signal, log });
  return { ref: entry.ref, manifestDigest: img.manifestDigest, layers: layers.map((l, k) => ({ digest: l.digest, size: l.size, shared: k < entry.layers.length })), published };
}

interface Files {
  read: Pick<ReadImage, 'index'>;
  spool: ContentSpool;
  entries: FleetEntry[];
}

/** The verified single-layer image, read back from the registry with its evidence. */
async function fromSlimImage(entry: FleetPlanFile['images'][number], deps: { log: Logger; scope: Scope; insecure: string[] }): Promise<Files> {
  deps.log.step(`fleet pack: reading ${entry.ref}`);
  return readMember(`${entry.ref.replace(/[:@][^/]*$/, '')}@${entry.digest}`, deps);
}

/**
 * The original the image was slimmed from (any input slim build takes), its files at the plan's
 * paths: it must be the one the evidence names, and hold them exactly as the slim image does.
 */
async function fromOriginal(from: string, entry: FleetPlanFile['images'][number], { runtime, log, scope }: PackDeps, insecure: string[]): Promise<Files> {
  log.step(`fleet pack: reading ${entry.ref}'s files from its original ${from}`);
  const ref = parseSourceRef(from);
  // An image in the engine is saved from it; files and registries are read where they are, no engine needed.
  const inspect = ref.kind === 'engine' ? await runtime.inspectImage(ref.ref) : undefined;
  if (ref.kind === 'engine' && !inspect) throw new SlimError(`image ${ref.ref} is not in the engine`, { code: 'IMAGE_NOT_FOUND' });
  const source = await openSource(ref, { runtime, scope, ...(inspect ? { inspect } : {}), registry: registryOpener({ insecure, signal: scope.signal }) });
  const spool = await ContentSpool.create(await scope.tempDir('slim-fleet-original-'));
  scope.defer(`spool of ${from}`, () => spool.close());
  const read = await readImage(source, spool, { signal: scope.signal }).finally(() => source.close?.());
  if (entry.source.id && read.configDigest !== entry.source.id) {
    throw new SlimError(`${from} is ${read.configDigest}, but ${entry.ref} was slimmed from ${entry.source.id} (${entry.source.ref})`, { code: 'BAD_ARCHIVE' });
  }
  return { read, spool, entries: await entriesOf(read.index, spool, new Set(Object.keys(entry.keys))) };
}
