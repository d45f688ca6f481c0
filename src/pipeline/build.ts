import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import type { Scope } from './scope.js';
import { ExitCode, SlimError, UsageError } from '../errors.js';
import { labelsFor, plainRunSpec, volumeTargets, commandOf, type RunSettings } from './run-settings.js';
import type { ExerciseResult } from '../verify/exercise.js';
import { oneLine } from '../verify/exercise.js';
import { describeCheck, withMountOutputs, withPorts, type Check } from '../verify/checks.js';
import { jobOutputPaths, withOwnMounts } from './run-mounts.js';
import { baselineFailure, compareRuns, limitsFrom, runChecked, type Checked, type RunLimits, type Verdict } from './verify-run.js';
import { failingOnly, findRepairs } from './repair.js';
import { overBudget, type Budget } from './budget.js';
import { dropUnusedTools, setidFiles } from '../harden/tools.js';
import { hardenChecks, isRoot, type HardenContent } from './harden-checks.js';
import { identityOf } from './identity.js';
import { counting, progressBar } from '../progress.js';
import { largestRemoved } from '../report/removed.js';
import type { ClosurePolicy, ClosureResult } from '../closure/closure.js';
import type { PresetName } from '../closure/presets.js';
import type { ImagePath } from '../rootfs/entry.js';
import { ContentSpool } from '../sources/content-spool.js';
import { readImageArchive, type ReadImage } from '../sources/image-archive.js';
import { computeClosure } from '../closure/closure.js';
import { runProbe, PROBE_DIR, OUT_DIR, type ProbeBackend } from '../probe/run-probe.js';
import type { ProbeChoice } from '../probe/select-probe.js';
import { planPack } from '../pack/plan.js';
import { writeLayer } from '../pack/layer-writer.js';
import { buildImage } from '../pack/image-builder.js';
import { imageArchiveStream } from '../sinks/image-archive-writer.js';
import { defaultOutputName, parseImageName } from '../image/reference.js';
import type { AccessRecord } from '../trace/record.js';
import { parseTraceText, serialiseRecord } from '../trace/jsonl.js';
import type { BuildReport } from '../report/report.js';
import { SLIM_VERSION } from '../version.js';
import { healthcheckArgv } from '../verify/healthcheck.js';
import { describeOutput, writeOutput, type OutputRef } from '../sinks/output.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { publishToRegistries, type Evidence, type RegistryOptions } from './publish.js';
import { FileType, type ArtifactFile } from '../registry/artifact.js';
import { formatRegistryRef } from '../registry/registry-ref.js';
import { readInstalledPackages } from '../sbom/package-db.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { readPackageFiles } from '../closure/packages.js';
import type { BuiltImage } from '../pack/image-builder.js';
import { loadSource } from '../sources/load-source.js';
import { holdImage } from './run-images.js';

export interface BuildOptions {
  image: string;
  tag?: string;
  settings: RunSettings;
  /** What the probe run does; verification uses `verifyCheck` (the same unless --verify-* replaced it). */
  check: Check;
  verifyCheck: Check;
  /** Self-repair rounds after a failed verification; 0 turns it off. */
  repairRounds: number;
  probe: ProbeChoice;
  include: string[];
  includeBin: string[];
  exclude: string[];
  presets: PresetName[];
  keepPackages: boolean;
  /** --harden: no setuid/setgid bits, no unused shells/package managers/compilers, a non-root user, seccomp and read-only checks. */
  harden?: { seccompOut: string };
  /** Use this trace (JSON Lines) instead of running the probe. */
  traceIn?: string;
  traceOut?: string;
  epoch?: number;
  budget: Budget;
  /** Where the verified image goes; the engine is always where it is verified. */
  outputs: OutputRef[];
  registry: RegistryOptions;
  /** Where the CycloneDX SBOM of the slim image is written (it is attached when pushing either way). */
  sbomOut?: string;
}

export interface BuildDeps {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}

/** The image read from the engine: its inspect data, flattened filesystem and the content behind it. */
export interface OpenedImage {
  inspect: ImageInspect;
  img: ReadImage;
  spool: ContentSpool;
  tmp: string;
  readSeconds: number;
}

export async function openImage(ref: string, { runtime, log, scope }: BuildDeps): Promise<OpenedImage> {
  await runtime.ping();
  const inspect = await runtime.inspectImage(ref);
  if (!inspect) {
    throw new SlimError(`image ${ref} is not in the engine`, { code: 'IMAGE_NOT_FOUND', hint: `build or pull it first (docker image ls lists what is there)` });
  }
  log.step(`reading ${ref} (${inspect.id.slice(7, 19)})`);
  const t = Date.now();
  const tmp = await scope.tempDir();
  const spool = await ContentSpool.create(tmp);
  scope.defer('content spool', () => spool.close());
  const counted = counting(progressBar('reading', inspect.size));
  // pipeline() carries an engine error or an abort on to the reader instead of leaving it waiting.
  pipeline(await runtime.saveImage(inspect.id, scope.signal), counted).catch(() => {});
  const img = await readImageArchive(counted, spool, ref);
  const readSeconds = (Date.now() - t) / 1000;
  log.info(`${img.index.stats().files} files in ${img.layerCount} layers, read in ${readSeconds.toFixed(1)}s`);
  return { inspect, img, spool, tmp, readSeconds };
}

export interface TraceResult {
  records: AccessRecord[];
  backend: ProbeBackend | 'trace-file';
  summary: string;
  skippedLines: number;
  /** Seconds the probed app took to pass its first check, when a probe ran a service. */
  readySeconds?: number;
}

/** The engine reference of the input: as given, or the ID of the image loaded from a file or OCI layout. */
export async function engineRefFor(image: string, { runtime, log, scope }: BuildDeps): Promise<string> {
  const source = parseSourceRef(image);
  if (source.kind === 'engine') return source.ref;
  await runtime.ping();
  log.step(`loading ${image} into the engine, where it is probed and verified`);
  return loadSource(source, runtime, scope);
}

/** The trace: from a file given with --trace, or from a probe run whose check must pass. */
export async function traceImage(opened: OpenedImage, opts: Pick<BuildOptions, 'settings' | 'check' | 'probe' | 'traceIn' | 'traceOut'>, { runtime, log, scope }: BuildDeps): Promise<TraceResult> {
  const { img, spool, inspect } = opened;
  const config = img.config.config ?? {};
  const settings = opts.settings;
  let result: TraceResult;
  if (opts.traceIn) {
    const { records, badLines } = await parseTraceText(readFile(opts.traceIn, 'latin1').catch((err: Error) => {
      throw new SlimError(`cannot read the trace ${opts.traceIn}: ${err.message}`, { code: 'BAD_TRACE', exitCode: ExitCode.usage });
    }));
    if (records.length === 0) throw new SlimError(`${opts.traceIn} holds no trace records (${badLines} unreadable lines)`, { code: 'BAD_TRACE' });
    log.step(`using ${records.length} records from ${opts.traceIn}`);
    result = { records, backend: 'trace-file', summary: `trace from ${opts.traceIn}`, skippedLines: badLines };
  } else {
    commandOf(config, settings);
    const identity = await identityOf(opened, settings);
    const { check, ports } = withPorts(opts.check, Object.keys(config.ExposedPorts ?? {}), settings.publish);
    log.step(`probing ${inspect.repoTags[0] ?? inspect.id.slice(7, 19)} (${describeCheck(check)})`);
    const probe = await withOwnMounts({ runtime, scope, log }, settings, 'probe', (own) => runProbe({ runtime, scope, log, image: inspect.id, config, settings: own, identity, backend: opts.probe, check, ports, index: img.index }));
    if (!probe.run.passed) throw probeFailure(check, probe.run);
    log.info(`${probe.run.summary}; ${probe.records.length} trace records`);
    result = { records: probe.records, backend: probe.backend, summary: probe.run.summary, skippedLines: probe.skippedLines, ...(probe.run.readySeconds !== undefined ? { readySeconds: probe.run.readySeconds } : {}) };
  }
  if (opts.traceOut) await writeTrace(opts.traceOut, result.records);
  return result;
}

async function writeTrace(file: string, records: AccessRecord[]): Promise<void> {
  await writeFile(file, records.map(serialiseRecord).join('\n') + '\n', 'latin1');
}

/**
 * The verification checks' baseline run on the original, under the probe: its result is the
 * baseline the slim image is compared with, its trace goes into the closure. A probe run that
 * fails where a plain one would pass must not stop the build: then the plain run is the baseline.
 */
async function probeBaseline(opened: OpenedImage, check: Check, ports: number[], deps: BuildDeps, opts: BuildOptions): Promise<{ run: Checked; records: AccessRecord[] } | undefined> {
  const { runtime, scope, log } = deps;
  const config = opened.img.config.config ?? {};
  const identity = await identityOf(opened, opts.settings);
  log.step(`verifying the original under the probe (${describeCheck(check)}): the slim image holds what these checks touch`);
  const probe = await withOwnMounts(deps, opts.settings, 'probe', (own) =>
    runProbe({ runtime, scope, log, image: opened.inspect.id, config, settings: own, identity, backend: opts.probe, check, ports, round: 'verify', index: opened.img.index }),
  );
  if (!probe.run.passed) {
    log.warn(`the verification checks did not pass on the original under the probe (${probe.run.summary}); running them without it`);
    return undefined;
  }
  log.info(`${probe.run.summary}; ${probe.records.length} trace records`);
  return { run: { ...probe.run, health: probe.health }, records: probe.records };
}

/** Orchestration only: each step lives in its own module. */
export async function build(opts: BuildOptions, deps: BuildDeps): Promise<BuildReport> {
  const { runtime, log, scope } = deps;
  const t0 = Date.now();
  const since = (t: number) => (Date.now() - t) / 1000;
  const source = parseSourceRef(opts.image);
  if (source.kind !== 'engine' && !opts.tag && opts.outputs.some((o) => o.kind === 'docker')) {
    throw new UsageError(`give --tag: ${opts.image} is not in the engine, so slim cannot name the slim image after it`);
  }
  const outputName = opts.tag ?? defaultOutputName(source.kind === 'engine' ? source.ref : 'slim:latest');
  const out = parseImageName(outputName);
  if (out.digest) throw new UsageError(`--tag ${outputName} must not carry a digest`);

  const opened = await openImage(await engineRefFor(opts.image, deps), deps);
  const { inspect, img, spool, tmp, readSeconds } = opened;
  const inputStats = img.index.stats();
  const config = img.config.config ?? {};
  const settings = opts.settings;
  const exposed = Object.keys(config.ExposedPorts ?? {});
  const { check: portsCheck, ports } = withPorts(opts.verifyCheck, exposed, settings.publish);
  // A job's results are where it can write: its writable mounts and volumes are compared too.
  const verifyCheck = withMountOutputs(portsCheck, jobOutputPaths(settings.volumes, Object.keys(config.Volumes ?? {}), settings.tmpfs));

  let t = Date.now();
  const trace = await traceImage(opened, opts, deps);
  let records = trace.records;
  // Full verification checks of their own (--verify-*): their baseline run on the original goes
  // under the probe, so the first slim image already holds what they touch, not only what the
  // light probe check did.
  const probedBaseline = opts.verifyCheck !== opts.check && !opts.traceIn ? await probeBaseline(opened, verifyCheck, ports, deps, opts) : undefined;
  if (probedBaseline) {
    records = [...records, ...probedBaseline.records];
    if (opts.traceOut) await writeTrace(opts.traceOut, records);
  }
  const probeSeconds = since(t);

  t = Date.now();
  const ignore = [PROBE_DIR, OUT_DIR, ...volumeTargets(settings)];
  const policy: ClosurePolicy = {
    ignore,
    include: opts.include,
    includeBin: opts.includeBin,
    exclude: opts.exclude,
    presets: opts.presets,
    keepPackages: opts.keepPackages,
    commands: [commandOf(config, settings), healthcheckArgv(config) ?? []],
    config,
  };
  const hardened: HardenContent = { tools: { removed: [], kept: [] }, setid: [] };
  // The closure, and what --harden takes out of it: applied again after every repair round, with
  // what the round traced.
  const closeOver = async (repairs: ImagePath[]): Promise<ClosureResult> => {
    const c = await computeClosure(img.index, records, repairs.length ? { ...policy, repairs } : policy, spool);
    if (opts.harden) {
      hardened.tools = dropUnusedTools(img.index, c.selection);
      hardened.setid = setidFiles(img.index, c.selection);
    }
    return c;
  };
  let closure = await closeOver([]);
  const closureSeconds = since(t);
  for (const w of closure.warnings) log.warn(w);

  t = Date.now();
  const bakedUser = opts.harden && isRoot(config.User) && settings.user ? settings.user : undefined;
  const packOpts = { backend: trace.backend, ...(opts.harden ? { harden: { stripSetid: true, ...(bakedUser ? { user: bakedUser } : {}) } } : {}) };
  let packed = await packAndLoad(opened, closure, opts, packOpts, 0, deps);
  let packSeconds = since(t);

  log.step(`verifying: ${describeCheck(verifyCheck)}, on the original${probedBaseline ? ' (under the probe, done)' : ''}, then on the slim image`);
  t = Date.now();
  // The baseline is the measurement: it gets the check's whole timeout. The slim image's limits
  // come from it (readiness, and each check's own duration), not from the probe's light check.
  const original = probedBaseline?.run ?? (await runChecked(deps, inspect.id, settings, verifyCheck, 'verify-original', config, { ports }));
  const baseline = baselineFailure(verifyCheck, original);
  if (baseline) {
    throw new SlimError(`the check fails on the original image without the probe too (${baseline}); nothing to compare`, { code: 'BASELINE_FAILED', hint: 'make the check pass on the original image first' });
  }
  const slimLimits = limitsFrom(verifyCheck, original);
  const verifySlim = async (id: string): Promise<{ run: Checked; verdict: Verdict }> => {
    const run = await runChecked(deps, id, settings, verifyCheck, 'verify-slim', config, { ports, ...slimLimits });
    return { run, verdict: compareRuns(verifyCheck, original, run) };
  };
  let { verdict } = await verifySlim(packed.slimId);
  let verifySeconds = since(t);

  // Self-repair: trace the failing slim image and the original under the failing checks, add all
  // the slim image lacks with its closure, try again.
  const repair: BuildReport['repair'] = { result: verdict.passed ? 'not-needed' : opts.repairRounds === 0 ? 'off' : 'failed', rounds: 0, added: [] };
  let repairSeconds = 0;
  while (!verdict.passed && repair.rounds < opts.repairRounds) {
    const round = ++repair.rounds;
    const failing = verdict.checks.filter((c) => c.original === 'pass' && c.slim === 'fail').map((c) => c.name);
    log.warn(`the slim image failed verification (${verdict.summary}); repair round ${round} of ${opts.repairRounds}`);
    const tr = Date.now();
    const evidence = await findRepairs({ opened, slimId: packed.slimId, kept: closure.selection, ignore, check: failingOnly(verifyCheck, failing), ports, round, limits: slimLimits, settings }, deps);
    repairSeconds += since(tr);
    const before = closure.selection;
    records = [...records, ...evidence.records];
    // A path added before and still missing is kept out on purpose (--exclude): adding it again would loop.
    const named = evidence.found.filter((f) => !repair.added.some((a) => a.path === f.path));
    closure = await closeOver([...repair.added.map((a) => a.path), ...named.map((f) => f.path)]);
    const grew = closure.selection.paths().filter((p) => !before.has(p));
    if (grew.length === 0) {
      repair.note = evidence.found.length
        ? `round ${round}: what the slim image lacks is kept out by --exclude: ${evidence.found.slice(0, 3).map((f) => f.path).join(', ')}`
        : `round ${round}: neither the slim image's failed lookups nor the original's trace under the failing checks name a file the slim image lacks`;
      log.warn(repair.note);
      break;
    }
    // Each path a run named, and what else the original touched under the failing checks.
    const fromTrace = grew.filter((p) => !named.some((f) => f.path === p) && closure.selection.why(p)[0]?.why !== 'parent');
    const added = [...named, ...fromTrace.filter((p) => !repair.added.some((a) => a.path === p)).map((path) => ({ path, seenIn: 'original' as const }))];
    log.info(`repair round ${round}: adding ${grew.length} entr${grew.length === 1 ? 'y' : 'ies'} (${added.length} named): ${added.slice(0, 5).map((a) => a.path).join(', ')}${added.length > 5 ? ', …' : ''}`);
    repair.added.push(...added.map((a) => ({ path: a.path, round, neededBy: failing, seenIn: a.seenIn })));
    await packed.discard();
    const tp = Date.now();
    packed = await packAndLoad(opened, closure, opts, packOpts, round, deps);
    packSeconds += since(tp);
    const tv = Date.now();
    ({ verdict } = await verifySlim(packed.slimId));
    verifySeconds += since(tv);
    if (verdict.passed) repair.result = 'repaired';
  }
  if (repair.result === 'failed' && !repair.note && repair.rounds > 0) repair.note = `still failing after ${repair.rounds} round${repair.rounds === 1 ? '' : 's'}`;
  if (repair.result === 'repaired') repair.note = `${repair.added.length} path${repair.added.length === 1 ? '' : 's'} added in ${repair.rounds} round${repair.rounds === 1 ? '' : 's'}: ${[...new Set(repair.added.map((a) => a.seenIn))].map((w) => (w === 'slim image' ? "the slim image's failed lookups" : "the original's trace under the failing checks")).join(' and ')}`;

  let harden: BuildReport['harden'] = null;
  if (opts.harden) {
    const th = Date.now();
    harden = await hardenChecks({ opened, slimId: packed.slimId, original, check: verifyCheck, ports, slimLimits, records, ignore, hardened, bakedUser, passed: verdict.passed, opts }, deps);
    verifySeconds += since(th);
    const seccomp = harden.steps.find((s) => s.step === 'seccomp');
    if (verdict.passed && seccomp?.result === 'fail') verdict = { ...verdict, passed: false, summary: `with the seccomp profile: ${seccomp.detail}` };
  }

  const { built, plan, layer, slimId } = packed;
  const slimInspect = await runtime.inspectImage(slimId);
  const outSize = slimInspect?.size ?? packed.layer.uncompressedSize;
  // A working image over its budget is not published: the pipeline step fails with exit code 4.
  const budgetBroken = verdict.passed ? overBudget(opts.budget, outSize, inspect.size / Math.max(1, outSize)) : [];
  if (budgetBroken.length) log.warn(`over budget: ${budgetBroken.join('; ')}; nothing is written or tagged`);
  const written: string[] = [];
  const toEngine = opts.outputs.some((o) => o.kind === 'docker');
  const publish = verdict.passed && budgetBroken.length === 0;
  if (publish) {
    for (const o of opts.outputs) {
      if (o.kind === 'docker' || o.kind === 'registry') continue;
      log.step(`writing ${describeOutput(o)}`);
      await writeOutput(o, built, outputName, scope.signal);
      written.push(describeOutput(o));
    }
    if (toEngine) {
      await packed.keep(out.repository, out.tag ?? 'latest');
      written.unshift(`docker:${outputName}`);
    }
  }
  const registries = opts.outputs.flatMap((o) => (o.kind === 'registry' ? [{ ...o.ref, tag: o.ref.tag ?? out.tag ?? 'latest' }] : []));
  if (publish) for (const r of registries) written.push(`registry:${formatRegistryRef(r)}@${built.manifestDigest}`);
  const outFiles = plan.entries.filter((e) => e.entry.kind === 'file').length;
  const healthOf = (name: 'original' | 'slim') => {
    const hc = verdict.checks.find((c) => c.name === 'HEALTHCHECK');
    const r = hc ? hc[name] : original.health.result;
    return r === 'not-run' ? 'none' : r;
  };
  const sbom = await sbomOf(opened, closure, built, outputName);
  if (publish && opts.sbomOut) await writeFile(opts.sbomOut, JSON.stringify(sbom.bom, null, 2) + '\n');
  const report: BuildReport = {
    schema: 'slim.report/v1',
    status: !verdict.passed ? 'verify-failed' : budgetBroken.length ? 'over-budget' : 'ok',
    budget: { ...opts.budget, broken: budgetBroken },
    input: { ref: opts.image, id: inspect.id, size: inspect.size, files: inputStats.files, layers: img.layerCount },
    output: { ref: written.length && toEngine ? outputName : null, written, id: slimId, digest: built.manifestDigest, size: outSize, files: outFiles, entries: plan.entries.length, layerSize: layer.size },
    reduction: { sizeRatio: inspect.size / Math.max(1, outSize), filesRatio: inputStats.files / Math.max(1, outFiles) },
    probe: { backend: trace.backend, records: records.length, distinctPaths: new Set(records.map((r) => r.path)).size, skippedLines: trace.skippedLines, check: trace.summary },
    closure: { kept: closure.selection.size, byReason: closure.selection.countByFirstReason(), presets: closure.presets, packages: closure.packages, excluded: closure.excluded, warnings: closure.warnings },
    removed: { largestDirs: largestRemoved(img.index, closure.selection) },
    verify: {
      original: 'pass',
      slim: verdict.passed ? 'pass' : 'fail',
      details: { original: original.summary, slim: verdict.summary },
      healthcheck: { original: original.health.result, slim: healthOf('slim') },
      checks: verdict.checks,
    },
    repair,
    harden,
    sbom: { format: 'CycloneDX 1.5', packages: sbom.packages, ...(publish && opts.sbomOut ? { file: opts.sbomOut } : {}) },
    timings: { read: readSeconds, probe: probeSeconds, closure: closureSeconds, pack: packSeconds, verify: verifySeconds, repair: repairSeconds, total: since(t0) },
  };
  if (publish && registries.length) {
    const evidence = opts.registry.attach ? { ...(await evidenceOf(report, records, harden?.seccompProfile)), sbom: { title: 'sbom.cdx.json', mediaType: FileType.sbom, data: Buffer.from(JSON.stringify(sbom.bom, null, 2) + '\n') } } : undefined;
    const tp = Date.now();
    report.output.pushed = await publishToRegistries(registries, built, evidence, opts.registry, log, scope.signal);
    report.timings.push = since(tp);
    report.timings.total = since(t0);
  }
  return report;
}

/** The SBOM of what remains: packages of the original with files kept, and how much of each. */
async function sbomOf(opened: OpenedImage, closure: ClosureResult, built: BuiltImage, name: string): Promise<{ bom: Record<string, unknown>; packages: number }> {
  const { index } = opened.img;
  const { packages: installed, os } = await readInstalledPackages(index, opened.spool);
  const files = await readPackageFiles(index, opened.spool);
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const bom = cycloneDx({
    index, kept: (p) => closure.selection.has(p), installed, files, ...(os ? { os } : {}),
    image: { name, digest: built.manifestDigest },
    tool: { name: 'slim', version: SLIM_VERSION },
    timestamp: new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString(),
  });
  return { bom, packages: (bom.components as unknown[]).length };
}

/** What is attached to a pushed image: this report, the trace it was built from, the seccomp profile. */
async function evidenceOf(report: BuildReport, records: AccessRecord[], seccompProfile: string | undefined): Promise<Evidence> {
  const files: ArtifactFile[] = [
    { title: 'report.json', mediaType: FileType.report, data: Buffer.from(JSON.stringify(report, null, 2) + '\n') },
    { title: 'trace.jsonl', mediaType: FileType.trace, data: Buffer.from(records.map(serialiseRecord).join('\n') + '\n', 'latin1') },
  ];
  if (seccompProfile) files.push({ title: 'seccomp.json', mediaType: FileType.seccomp, data: await readFile(seccompProfile) });
  return { files, annotations: { 'org.opencontainers.image.created': new Date().toISOString(), 'io.slim.version': SLIM_VERSION, 'io.slim.status': report.status } };
}

interface Packed {
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
async function packAndLoad(opened: OpenedImage, closure: ClosureResult, opts: BuildOptions, pack: { backend: TraceResult['backend']; harden?: { stripSetid: boolean; user?: string } }, round: number, { runtime, log, scope }: BuildDeps): Promise<Packed> {
  const { img, spool, tmp } = opened;
  log.step(`packing ${closure.selection.size} entries`);
  const plan = planPack(img.index, closure.selection, img.config, {
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    provenance: { sourceName: opts.image, sourceDigest: img.configDigest, slimVersion: SLIM_VERSION, probe: pack.backend },
    ...(pack.harden ? { harden: pack.harden } : {}),
  });
  const layer = await writeLayer(plan, spool, join(tmp, `layer-${round}.tar.gz`), scope.signal);
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

function probeFailure(check: Check, run: ExerciseResult): SlimError {
  const stderr = oneLine(run.stderr.toString().split('\n').filter(Boolean).slice(-3).join(' | '));
  if (check.kind === 'job') {
    return new SlimError(`the job failed on the original image under the probe: exit code ${run.exitCode}${stderr ? ` (${stderr})` : ''}`, { code: 'PROBE_FAILED', hint: 'a job must exit 0 on the original image; check its arguments and environment' });
  }
  return new SlimError(`the checks did not pass on the original image: ${run.summary}${stderr ? `; container said: ${stderr}` : ''}`, {
    code: 'PROBE_FAILED',
    hint: 'nothing to compare against: make the checks pass on the original first (see --network, --publish, --smoke-timeout)',
  });
}
