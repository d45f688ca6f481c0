import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import type { Scope } from './scope.js';
import { SlimError, ExitCode } from '../errors.js';
import { labelsFor, plainRunSpec, volumeTargets, commandOf, type RunSettings } from './run-settings.js';
import type { Check, ExerciseResult } from '../verify/exercise.js';
import { exercise, oneLine } from '../verify/exercise.js';
import { ContentSpool } from '../sources/content-spool.js';
import { readImageArchive, type ReadImage } from '../sources/image-archive.js';
import { resolveUser } from '../closure/users.js';
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
import { healthcheckArgv, runHealthcheck, type HealthResult } from '../verify/healthcheck.js';
import type { ContainerConfig } from '../image/types.js';
import { describeOutput, writeOutput, type OutputRef } from '../sinks/output.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { loadSource } from '../sources/load-source.js';

export interface BuildOptions {
  image: string;
  tag?: string;
  settings: RunSettings;
  check: Check;
  probe: ProbeChoice;
  include: string[];
  /** Use this trace (JSON Lines) instead of running the probe. */
  traceIn?: string;
  traceOut?: string;
  epoch?: number;
  /** Where the verified image goes; the engine is always where it is verified. */
  outputs: OutputRef[];
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
  const img = await readImageArchive(await runtime.saveImage(inspect.id, scope.signal), spool, ref);
  const readSeconds = (Date.now() - t) / 1000;
  log.info(`${img.index.stats().files} files in ${img.layerCount} layers, read in ${readSeconds.toFixed(1)}s`);
  return { inspect, img, spool, tmp, readSeconds };
}

export interface TraceResult {
  records: AccessRecord[];
  backend: ProbeBackend | 'trace-file';
  summary: string;
  skippedLines: number;
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
    const text = async (p: string) => {
      const e = img.index.resolve(p).entry;
      return e?.kind === 'file' ? (await spool.read(e)).toString('latin1') : undefined;
    };
    const identity = resolveUser(settings.user ?? config.User, await text('/etc/passwd'), await text('/etc/group'));
    log.step(`probing ${inspect.repoTags[0] ?? inspect.id.slice(7, 19)} (${describeCheck(opts.check)})`);
    const probe = await runProbe({ runtime, scope, log, image: inspect.id, config, settings, identity, backend: opts.probe, check: opts.check });
    if (!probe.run.passed) throw probeFailure(opts.check, probe.run);
    log.info(`${probe.run.summary}; ${probe.records.length} trace records`);
    result = { records: probe.records, backend: probe.backend, summary: probe.run.summary, skippedLines: probe.skippedLines };
  }
  if (opts.traceOut) await writeFile(opts.traceOut, result.records.map(serialiseRecord).join('\n') + '\n', 'latin1');
  return result;
}

/** Orchestration only: each step lives in its own module. */
export async function build(opts: BuildOptions, deps: BuildDeps): Promise<BuildReport> {
  const { runtime, log, scope } = deps;
  const t0 = Date.now();
  const since = (t: number) => (Date.now() - t) / 1000;
  const source = parseSourceRef(opts.image);
  if (source.kind !== 'engine' && !opts.tag && opts.outputs.some((o) => o.kind === 'docker')) {
    throw new SlimError(`give --tag: ${opts.image} is not in the engine, so slim cannot name the slim image after it`, { code: 'USAGE', exitCode: ExitCode.usage });
  }
  const outputName = opts.tag ?? defaultOutputName(source.kind === 'engine' ? source.ref : 'slim:latest');
  const out = parseImageName(outputName);
  if (out.digest) throw new SlimError(`--tag ${outputName} must not carry a digest`, { code: 'USAGE', exitCode: ExitCode.usage });

  const opened = await openImage(await engineRefFor(opts.image, deps), deps);
  const { inspect, img, spool, tmp, readSeconds } = opened;
  const inputStats = img.index.stats();
  const config = img.config.config ?? {};
  const settings = opts.settings;

  let t = Date.now();
  const trace = await traceImage(opened, opts, deps);
  const records = trace.records;
  const probeSeconds = since(t);

  t = Date.now();
  const closure = await computeClosure(
    img.index,
    records,
    { ignore: [PROBE_DIR, OUT_DIR, ...volumeTargets(settings)], include: opts.include, commands: [commandOf(config, settings), healthcheckArgv(config) ?? []], config },
    spool,
  );
  const closureSeconds = since(t);
  for (const w of closure.warnings) log.warn(w);

  log.step(`packing ${closure.selection.size} entries`);
  t = Date.now();
  const plan = planPack(img.index, closure.selection, img.config, {
    ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    provenance: { sourceName: opts.image, sourceDigest: img.configDigest, slimVersion: SLIM_VERSION, probe: trace.backend },
  });
  const layer = await writeLayer(plan, spool, join(tmp, 'layer.tar.gz'), scope.signal);
  const built = buildImage(plan, layer);
  const existed = (await runtime.inspectImage(built.configDigest)) !== undefined;
  const archive = new PassThrough();
  imageArchiveStream(built).pipe(archive);
  const slimId = await runtime.loadImage(archive, scope.signal);
  // Until it passed verification, the slim image is provisional: removed on failure or Ctrl-C.
  if (!existed) scope.defer('provisional slim image', () => runtime.removeImage(slimId));
  const packSeconds = since(t);
  const slimInspect = await runtime.inspectImage(slimId);

  log.step('verifying: the same check on the original, then on the slim image');
  t = Date.now();
  const original = await runChecked(runtime, scope, inspect.id, settings, opts.check, 'verify-original', config);
  if (!original.passed) {
    throw new SlimError(`the check fails on the original image without the probe too (${original.summary}); nothing to compare`, { code: 'BASELINE_FAILED' });
  }
  const slim = await runChecked(runtime, scope, slimId, settings, opts.check, 'verify-slim', config);
  const slimVerdict = compare(opts.check, original, slim);
  if (slimVerdict.passed && original.health.result === 'pass' && slim.health.result !== 'pass') {
    Object.assign(slimVerdict, { passed: false, summary: `the smoke test passed but the image's HEALTHCHECK fails on the slim image (${slim.health.detail}), while it passes on the original` });
  }
  const verifySeconds = since(t);

  const written: string[] = [];
  const toEngine = opts.outputs.some((o) => o.kind === 'docker');
  if (slimVerdict.passed) {
    for (const o of opts.outputs) {
      if (o.kind === 'docker') continue;
      log.step(`writing ${describeOutput(o)}`);
      await writeOutput(o, built, outputName);
      written.push(describeOutput(o));
    }
    if (toEngine) {
      scope.release('provisional slim image');
      await runtime.tagImage(slimId, out.repository, out.tag ?? 'latest');
      written.unshift(`docker:${outputName}`);
    }
  }
  const outFiles = plan.entries.filter((e) => e.entry.kind === 'file').length;
  const outSize = slimInspect?.size ?? layer.uncompressedSize;
  return {
    schema: 'slim.report/v1',
    status: slimVerdict.passed ? 'ok' : 'verify-failed',
    input: { ref: opts.image, id: inspect.id, size: inspect.size, files: inputStats.files, layers: img.layerCount },
    output: { ref: slimVerdict.passed && toEngine ? outputName : null, written, id: slimId, digest: built.manifestDigest, size: outSize, files: outFiles, entries: plan.entries.length, layerSize: layer.size },
    reduction: { sizeRatio: inspect.size / Math.max(1, outSize), filesRatio: inputStats.files / Math.max(1, outFiles) },
    probe: { backend: trace.backend, records: records.length, distinctPaths: new Set(records.map((r) => r.path)).size, skippedLines: trace.skippedLines, check: trace.summary },
    closure: { kept: closure.selection.size, byReason: closure.selection.countByFirstReason(), warnings: closure.warnings },
    verify: { original: 'pass', slim: slimVerdict.passed ? 'pass' : 'fail', details: { original: original.summary, slim: slimVerdict.summary }, healthcheck: { original: original.health.result, slim: slim.health.result } },
    timings: { read: readSeconds, probe: probeSeconds, closure: closureSeconds, pack: packSeconds, verify: verifySeconds, total: since(t0) },
  };
}

interface Checked extends ExerciseResult {
  health: { result: HealthResult; detail: string };
}

async function runChecked(runtime: Runtime, scope: Scope, image: string, settings: RunSettings, check: Check, role: string, config: ContainerConfig): Promise<Checked> {
  const c = await runtime.run(plainRunSpec(image, settings, labelsFor(scope.id, role)));
  scope.defer(`${role} container`, () => c.remove());
  let health: Checked['health'] = { result: 'none', detail: 'not run' };
  try {
    const r = await exercise(c, check, { image, stopTimeout: settings.stopTimeout, signal: scope.signal, whilePassing: async () => void (health = await runHealthcheck(c, config)) });
    return { ...r, health };
  } finally {
    scope.release(`${role} container`);
    await c.remove();
  }
}

/** A job must end the same way with the same output; a service must pass the same smoke test. */
function compare(check: Check, original: ExerciseResult, slim: ExerciseResult): { passed: boolean; summary: string } {
  if (check.kind === 'smoke') return { passed: slim.passed, summary: slim.summary };
  if (slim.exitCode !== original.exitCode) return { passed: false, summary: `job exited with code ${slim.exitCode}, the original with ${original.exitCode}: ${oneLine(slim.stderr.toString())}` };
  if (!slim.stdout.equals(original.stdout)) return { passed: false, summary: `job output differs from the original's (${slim.stdout.length} vs ${original.stdout.length} bytes)` };
  return { passed: true, summary: `job exited ${slim.exitCode} with the same output as the original` };
}

function probeFailure(check: Check, run: ExerciseResult): SlimError {
  const stderr = oneLine(run.stderr.toString().split('\n').filter(Boolean).slice(-3).join(' | '));
  if (check.kind === 'job') {
    return new SlimError(`the job failed on the original image under the probe: exit code ${run.exitCode}${stderr ? ` (${stderr})` : ''}`, { code: 'PROBE_FAILED', hint: 'a job must exit 0 on the original image; check its arguments and environment' });
  }
  return new SlimError(`the smoke test did not pass on the original image: ${run.summary}${stderr ? `; container said: ${stderr}` : ''}`, {
    code: 'PROBE_FAILED',
    hint: 'nothing to compare against: make the smoke test pass on the original first (see --network, --publish, --smoke-timeout)',
  });
}

function describeCheck(check: Check): string {
  return check.kind === 'smoke' ? `smoke test, up to ${check.timeoutSeconds}s` : 'job: until it exits';
}

