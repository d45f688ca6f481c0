import { writeFile } from 'node:fs/promises';
import { SlimError, UsageError } from '../errors.js';
import { volumeTargets, commandOf } from '../runtime/run-settings.js';
import { describeCheck, withMountOutputs, withPorts } from '../verify/checks.js';
import { jobOutputPaths } from './run-mounts.js';
import { baselineFailure, compareRuns, limitsFrom, runChecked, type Checked } from './verify-run.js';
import type { Verdict } from '../verify/checks.js';
import { failingOnly, findRepairs } from './repair.js';
import { overBudget } from './budget.js';
import { dropUnusedTools, setidFiles } from '../harden/tools.js';
import { hardenChecks, isRoot, type HardenContent } from './harden-checks.js';
import { largestRemoved } from '../report/removed.js';
import type { ClosurePolicy, ClosureResult } from '../closure/closure.js';
import type { ImagePath } from '../rootfs/entry.js';
import { computeClosure } from '../closure/closure.js';
import { PROBE_DIR, OUT_DIR } from '../probe/run-probe.js';
import { defaultOutputName, parseImageName } from '../image/reference.js';
import type { BuildReport } from '../report/report.js';
import { healthcheckArgv } from '../verify/healthcheck.js';
import { describeOutput, writeOutput } from '../sinks/output.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { publishToRegistries } from './publish.js';
import { FileType } from '../registry/artifact.js';
import { formatRegistryRef } from '../registry/registry-ref.js';
import type { BuildDeps, BuildOptions } from './build-types.js';
import { engineRefFor, openImage } from './read-step.js';
import { probeBaseline, traceImage, writeTrace } from './trace-step.js';
import { packAndLoad } from './pack-step.js';
import { evidenceOf, sbomOf } from './evidence.js';

/** The engine reference of the input: as given, or the ID of the image loaded from a file or OCI layout. */
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
  const { inspect, img, spool, readSeconds } = opened;
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
    const added = [...named, ...fromTrace.map((path) => ({ path, seenIn: 'original' as const }))];
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
