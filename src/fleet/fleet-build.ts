import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SlimError } from '../errors.js';
import type { BuildReport } from '../report/report.js';
import { build, outputNameOf } from '../pipeline/build.js';
import type { BuildDeps, BuildOptions } from '../pipeline/build-types.js';
import { firstVerdict, verifyPlanOf } from '../pipeline/verify-step.js';
import { ContentSpool } from '../sources/content-spool.js';
import { dockerArchiveSource } from '../sources/archive-source.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import type { WrittenLayer } from '../pack/layer-writer.js';
import { checkSameFiles, entriesOf, layeredOf, writeFleetLayer } from './fleet-layers.js';
import { imageArchiveStream } from '../sinks/image-archive-writer.js';
import { sinksFor } from '../sinks/sinks-for.js';
import { publish } from '../sinks/publish.js';
import { RegistryHosts } from '../sinks/registry-sink.js';
import { holdImage } from '../runtime/run-images.js';
import { Scope } from '../runtime/scope.js';
import type { Pushed } from '../registry/push.js';
import { planSharing, type SharePlan, type SharePlanOptions } from './share-plan.js';

export interface FleetMember {
  /** The image as the fleet file names it. */
  image: string;
  opts: BuildOptions;
}

export interface FleetImageReport {
  image: string;
  /** The single-layer build, as `slim build` makes it. */
  single: { id: string; size: number; files: number; layerBytes: number; tarBytes: number };
  /** The layered image: the shared layers under it, then its own. */
  layered: { id: string; manifestDigest: string; layers: string[]; layerBytes: number; ownFiles: number; verify: 'pass' | 'fail'; summary: string; written: string[]; pushed: Pushed[] };
}

export interface FleetReport {
  status: 'ok' | 'verify-failed';
  strategy: SharePlan['strategy'];
  why: string;
  shared: { digest: string; size: number; files: number; bytes: number; images: string[] }[];
  images: FleetImageReport[];
  /** Bytes a node pulls to run every image, and a registry stores: distinct layer blobs, gzip'd, and their tars. */
  pull: { single: number; fleet: number; singleTar: number; fleetTar: number };
}

/**
 * `slim fleet build`: each image built as `slim build` does (probe, closure, verify), into a
 * single-layer archive of the run; then the files several of them keep identically go into shared
 * layers, each image is packed again as [shared…, own] with exactly its single-layer files, loaded,
 * verified with its own checks against its original, and published to its outputs.
 */
export async function fleetBuild(members: FleetMember[], share: SharePlanOptions, deps: BuildDeps, opts: { singlesDir?: string } = {}): Promise<FleetReport> {
  const { log, scope, runtime } = deps;
  const tmp = await scope.tempDir('slim-fleet-');
  const built: { member: FleetMember; report: BuildReport; read: ReadImage; spool: ContentSpool; deps: BuildDeps }[] = [];
  for (const [i, member] of members.entries()) {
    log.step(`fleet: building ${member.image} (${i + 1} of ${members.length})`);
    // A scope of its own per image, so run tags (the input, slim-0…) never meet; it lives until the fleet ends.
    const child = new Scope({ id: `${scope.id}-${i}` });
    const follow = () => child.abort(scope.signal.reason);
    scope.signal.addEventListener('abort', follow, { once: true });
    scope.defer(`fleet image ${member.image}`, async () => {
      scope.signal.removeEventListener('abort', follow);
      await child.dispose();
    });
    // Named NAME-single: loaded next to the layered image, they are told apart.
    const file = opts.singlesDir ? join(opts.singlesDir, `${i}.tar`) : join(tmp, `single-${i}.tar`);
    const childDeps = { ...deps, scope: child };
    const single = { ...member.opts, tag: `${outputNameOf(member.opts).name}-single`, outputs: [{ kind: 'docker-archive' as const, file }], registry: { ...member.opts.registry, attach: false } };
    const report = await build(single, childDeps);
    if (report.status !== 'ok' || !('output' in report)) throw new SlimError(`fleet: ${member.image} did not build: ${report.status}`, { code: 'BASELINE_FAILED' });
    const spool = await ContentSpool.create(await child.tempDir('slim-fleet-read-'));
    child.defer('fleet spool', () => spool.close());
    const read = await readImage(await dockerArchiveSource(file, `the slim image of ${member.image}`, { untrusted: false }), spool, { signal: scope.signal });
    built.push({ member, report: report as BuildReport, read, spool, deps: childDeps });
  }

  log.step('fleet: finding the files the images keep identically');
  const fleet = await Promise.all(built.map(async (b) => ({ name: b.member.image, entries: await entriesOf(b.read.index, b.spool) })));
  const plan = planSharing(fleet, share);
  log.info(plan.why);

  const sharedLayers: WrittenLayer[] = [];
  for (const [n, s] of plan.shared.entries()) {
    const from = built[s.images[0]!]!;
    const layer = await writeFleetLayer(from.read, from.spool, s.paths, join(tmp, `shared-${n}.tar.gz`), scope.signal);
    log.info(`shared layer ${n + 1}: ${s.paths.length} files, ${(s.bytes / 1e6).toFixed(1)} MB, for ${s.images.map((i) => members[i]!.image).join(', ')}: ${layer.digest.slice(7, 19)}`);
    sharedLayers.push(layer);
  }

  const checkSpool = await ContentSpool.create(await scope.tempDir('slim-fleet-check-'));
  scope.defer('fleet check spool', () => checkSpool.close());
  const hosts = new RegistryHosts(members[0]?.opts.registry ?? { insecure: [], attach: false });
  const images: FleetImageReport[] = [];
  const ownSizes: number[] = [];
  const ownTars: number[] = [];
  let failed = false;
  for (const [i, b] of built.entries()) {
    const mine = plan.images[i]!;
    const own = await writeFleetLayer(b.read, b.spool, mine.own, join(tmp, `own-${i}.tar.gz`), scope.signal);
    ownSizes.push(own.size);
    ownTars.push(own.uncompressedSize);
    // The single-layer build gzip'd as the layered one is, so that their sizes compare.
    const single = await writeFleetLayer(b.read, b.spool, b.read.index.sorted().map((e) => e.path), join(tmp, `single-${i}.tar.gz`), scope.signal);
    const layers = [...mine.layers.map((n) => sharedLayers[n]!), own];
    const img = layeredOf(b.read.config, layers, mine.layers.map((n) => plan.shared[n]!.images.map((j) => members[j]!.image)));
    await checkSameFiles(fleet[i]!.entries, layers, checkSpool, b.member.image);
    log.step(`fleet: verifying ${b.member.image} as ${layers.length} layers`);
    const held = await holdImage(runtime, b.deps.scope, img.configDigest, 'fleet');
    const archive = new PassThrough();
    imageArchiveStream(img, { repoTags: held.repoTags }).pipe(archive);
    const id = await runtime.loadImage(archive, scope.signal);
    const original = await runtime.inspectImage(b.report.input.id);
    if (!original) throw new SlimError(`fleet: the original of ${b.member.image} left the engine`, { code: 'IMAGE_NOT_FOUND' });
    const vplan = verifyPlanOf(b.member.opts.verifyCheck, b.member.opts.settings, original.config);
    const { verdict } = await firstVerdict(vplan, b.report.input.id, undefined, id, b.deps);
    failed ||= !verdict.passed;
    let written: string[] = [];
    let pushed: Pushed[] = [];
    if (verdict.passed) {
      const { name } = outputNameOf(b.member.opts);
      const sinks = sinksFor(b.member.opts.outputs, { name, keep: (repository, tag) => runtime.tagImage(id, repository, tag), registry: { ...b.member.opts.registry, attach: false }, hosts });
      ({ written, pushed } = await publish(sinks, img, { signal: scope.signal, log }));
    }
    images.push({
      image: b.member.image,
      single: { id: b.report.output.id, size: b.report.output.size, files: b.report.output.files, layerBytes: single.size, tarBytes: single.uncompressedSize },
      layered: { id, manifestDigest: img.manifestDigest, layers: layers.map((l) => l.digest), layerBytes: layers.reduce((n, l) => n + l.size, 0), ownFiles: mine.own.length, verify: verdict.passed ? 'pass' : 'fail', summary: verdict.summary, written, pushed },
    });
  }
  return {
    status: failed ? 'verify-failed' : 'ok',
    strategy: plan.strategy,
    why: plan.why,
    shared: plan.shared.map((s, n) => ({ digest: sharedLayers[n]!.digest, size: sharedLayers[n]!.size, files: s.paths.length, bytes: s.bytes, images: s.images.map((i) => members[i]!.image) })),
    images,
    pull: {
      single: images.reduce((n, im) => n + im.single.layerBytes, 0),
      fleet: sharedLayers.reduce((n, l) => n + l.size, 0) + ownSizes.reduce((n, size) => n + size, 0),
      singleTar: images.reduce((n, im) => n + im.single.tarBytes, 0),
      fleetTar: sharedLayers.reduce((n, l) => n + l.uncompressedSize, 0) + ownTars.reduce((n, size) => n + size, 0),
    },
  };
}

