import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { describeCheck } from '../verify/checks.js';
import { defaultOutputName, failedName, formatImageName, parseImageName } from '../image/reference.js';
import type { BuildReport } from '../report/report.js';
import { parseSourceRef } from '../sources/source-ref.js';
import { engineName } from '../registry/registry-source.js';
import { sinksFor } from '../sinks/sinks-for.js';
import { listing, publish as publishImage, wantsGzip } from '../sinks/publish.js';
import { compressed } from './pack-step.js';
import { FileType } from '../registry/artifact.js';
import type { BuildDeps, BuildOptions } from './build-types.js';
import { startReading } from './read-step.js';
import { probeBaseline, subjectWhileReading, traceImage, writeTrace } from './trace-step.js';
import { closeOver, closurePolicy } from './closure-step.js';
import { readPackageDatabase } from '../packages/database.js';
import { packAndLoad } from './pack-step.js';
import { firstVerdict, verifyPlanOf } from './verify-step.js';
import { repairLoop } from './repair-loop.js';
import { hardenChecks, isRoot, withSeccompVerdict } from './harden-checks.js';
import { overBudget } from './budget.js';
import { evidenceOf, sbomOf } from './evidence.js';
import { buildReport } from './build-report.js';
import { PhaseClock } from './phase-clock.js';
import { dryRunReport } from './dry-run.js';
import { rebuildTargets } from './rebuild-step.js';
import type { DryRunReport } from '../report/dry-run.js';

/**
 * The build, as its steps: read, probe, closure, pack, verify, repair, harden, publish. Each step
 * lives in its own module; this is the order they run in and what each hands the next. The caller
 * may hand in the clock: a build that fails has no report, and the caller tells the timings so far.
 * A dry run (--dry-run) stops after the closure with a report of its own.
 */
export async function build(opts: BuildOptions, deps: BuildDeps, clock = new PhaseClock()): Promise<BuildReport | DryRunReport> {
  const { runtime, log, scope } = deps;
  // A dry run names no image and writes none: a file input needs no --tag for it, nor outputs.
  const writes = opts.dryRun ? { ...opts, outputs: [] } : opts;
  const output = outputNameOf(writes);
  if ((await runtime.ping()).flavour === 'oci') daemonlessRefs(writes);

  // The probe does not wait for the read: it needs the image in the engine and its user, which
  // the engine can tell. What the trace executed is checked against the read once both are done.
  const reading = await startReading(opts.image, deps, { insecure: opts.registry.insecure, ...(opts.platform ? { platform: opts.platform } : {}) });
  const reads = clock.time('read', () => reading.opened);
  // Awaited after the probe; a failed read is reported then, not as an unhandled rejection meanwhile.
  reads.catch(() => {});
  const inspect = await reading.inspect;
  const plan = verifyPlanOf(opts.verifyCheck, opts.settings, inspect.config);
  const subject = subjectWhileReading(inspect, reading.opened, deps);

  // Full verification checks of their own (--verify-*): their baseline run on the original goes
  // under the probe, so the first slim image already holds what they touch, not only what the
  // light probe check did. Without them, the probe runs the verification check itself: its run
  // stands in for the baseline.
  const sameChecks = opts.verifyCheck === opts.check;
  const probing = clock.time('probe', async () => {
    const trace = await traceImage(subject, opts, deps, sameChecks ? plan : undefined);
    const probed = !sameChecks && !opts.traceIn ? await probeBaseline(subject, plan.check, plan.ports, deps, opts) : undefined;
    if (probed && opts.traceOut) await writeTrace(opts.traceOut, [...trace.records, ...probed.records]);
    return { trace, probedRun: probed?.run ?? (sameChecks ? trace.run : undefined), records: [...trace.records, ...(probed?.records ?? [])], probedLogs: probed?.classLogs ?? [] };
  });
  // A failed probe waits for the read to end, so that nothing is still writing when the scope cleans up.
  const { trace, records, probedRun, probedLogs } = await probing.catch(async (err: unknown) => {
    await reads.catch(() => {});
    throw err;
  });
  const opened = await reads;
  const config = opened.img.config.config ?? {};

  const policy = closurePolicy(opts, opened, opts.settings);
  // Read once: the closure's package rules and the SBOM both use it.
  const { packages, closed } = await clock.time('closure', async () => {
    const packages = await readPackageDatabase(opened.img.index, opened.spool);
    return { packages, closed: await closeOver(opened, policy, records, [], Boolean(opts.harden), packages) };
  });
  for (const w of closed.closure.warnings) log.warn(w);
  // Nothing past the closure: no layer is written, no image loaded, verified, tagged or pushed.
  if (opts.dryRun) {
    const report = dryRunReport({ input: opts.image, opened, trace, records, closure: closed.closure, packageFiles: packages.files, clock });
    report.timings.total = clock.total();
    return report;
  }

  const bakedUser = opts.harden && isRoot(config.User) && opts.settings.user ? opts.settings.user : undefined;
  const packOpts = { backend: trace.backend, ...(opts.harden ? { harden: { stripSetid: true, ...(bakedUser ? { user: bakedUser } : {}) } } : {}) };
  const pack = (c: typeof closed, round: number) => packAndLoad(opened, c.closure, opts, packOpts, round, deps);
  const packed = await clock.time('pack', () => pack(closed, 0));

  log.step(`verifying: ${describeCheck(plan.check)}, ${probedRun ? 'passed on the original under the probe; now' : 'on the original, then'} on the slim image`);
  const { baseline, verdict } = await clock.time('verify', () => firstVerdict(plan, inspect.id, probedRun, packed.slimId, deps));

  const repaired = await repairLoop({ records, closed, packed, verdict }, { opened, plan, baseline, policy, packages, harden: Boolean(opts.harden), rounds: opts.repairRounds, pack, clock }, deps);
  // Rebuilt files go in after repair, into the image that passed; the hardening checks then run on what ships.
  const rebuilt = opts.rebuild.length
    ? await clock.time('rebuild', () =>
        rebuildTargets(opts.rebuild, { opened, closure: repaired.closed.closure, packed: repaired.packed, packages, classLogs: [...(trace.classLogs ?? []), ...probedLogs], plan, baseline, ignore: policy.ignore, pack: (files, round) => packAndLoad({ ...opened, ...files }, repaired.closed.closure, opts, packOpts, round, deps) }, repaired.verdict.passed, deps),
      )
    : undefined;
  const last = rebuilt ? { ...repaired, packed: rebuilt.packed } : repaired;

  const harden = opts.harden
    ? await clock.time('verify', () =>
        hardenChecks({ opened, slimId: last.packed.slimId, original: baseline.original, check: plan.check, ports: plan.ports, slimLimits: baseline.limits, records: last.records, ignore: policy.ignore, hardened: last.closed.hardened, bakedUser, passed: last.verdict.passed, opts }, deps),
      )
    : null;
  const final = withSeccompVerdict(last.verdict, harden);

  const { slimId } = last.packed;
  const size = (await runtime.inspectImage(slimId))?.size ?? last.packed.layer.uncompressedSize;
  // A working image over its budget is not published: the pipeline step fails with exit code 4.
  const broken = final.passed ? overBudget(opts.budget, size, inspect.size / Math.max(1, size)) : [];
  if (broken.length) log.warn(`over budget: ${broken.join('; ')}; nothing is written or tagged`);
  const publish = final.passed && broken.length === 0;
  const keptFailed = !final.passed && opts.keepFailed ? await keepFailedImage(last.packed, output.name, deps) : undefined;

  // What the report lists is known before any output is written: the report attached to a push is made before the push.
  const sinks = publish ? sinksFor(opts.outputs, { name: output.name, keep: (repository, tag) => last.packed.keep(repository, tag), registry: opts.registry }) : [];
  const toEngine = sinks.some((s) => s.kind === 'docker');
  const built = wantsGzip(sinks) ? await clock.time('pack', () => compressed(last.packed, opened.tmp, scope.signal)) : last.packed.built;
  const sbom = await sbomOf(opened, last.closed.closure, built, output.name, packages);
  const report = buildReport({
    input: opts.image, opened, trace, records: last.records, closure: last.closed.closure, baseline, verdict: final, repair: last.repair, harden, ...(rebuilt ? { rebuild: rebuilt.reports } : {}),
    packed: { ...last.packed, built, layer: built.layer }, size, budget: { ...opts.budget, broken }, written: listing(sinks, built), engineRef: toEngine ? output.name : null,
    sbom: { packages: sbom.packages, ...(publish && opts.sbomOut ? { file: opts.sbomOut } : {}) }, clock, packageFiles: packages.files,
  });
  if (keptFailed) report.output.keptFailed = keptFailed;
  if (sinks.length) {
    const evidence = opts.registry.attach && sinks.some((s) => s.kind === 'registry') ? { ...(await evidenceOf(report, last.records, harden?.seccompProfile)), sbom: { title: 'sbom.cdx.json', mediaType: FileType.sbom, data: Buffer.from(JSON.stringify(sbom.bom, null, 2) + '\n') } } : undefined;
    const published = await publishImage(sinks, built, { signal: scope.signal, log, ...(evidence ? { evidence } : {}) });
    report.output.written = published.written;
    if (published.pushSeconds !== undefined) {
      report.output.pushed = published.pushed;
      report.timings.push = published.pushSeconds;
    }
  }
  // Written once every output is: a failed output leaves no SBOM of an image that went nowhere.
  if (publish && opts.sbomOut) await writeFile(opts.sbomOut, JSON.stringify(sbom.bom, null, 2) + '\n');
  report.timings.total = clock.total();
  return report;
}

/** A failed slim image tagged next to its output name, so that the run's cleanup leaves it; the tag is said at once. */
async function keepFailedImage(packed: { keep(repository: string, tag: string): Promise<void> }, output: string, { log }: BuildDeps): Promise<string> {
  const name = failedName(output);
  await packed.keep(name.repository, name.tag);
  const ref = formatImageName(name);
  log.info(`--keep-failed: the failed slim image is kept as ${ref}`);
  return ref;
}

/**
 * The slim image's name: --tag, or the input's name with a -slim tag (a registry input's as
 * `docker pull` names it); a file input has no name to take.
 */
/** The slim image's name: --tag, else the input's name with -slim. */
export function outputNameOf(opts: BuildOptions): { name: string } {
  const source = parseSourceRef(opts.image);
  const named = source.kind === 'engine' ? source.ref : source.kind === 'registry' ? engineName(source.ref) : undefined;
  if (!named && !opts.tag && opts.outputs.some((o) => o.kind === 'docker')) {
    throw new UsageError(`give --tag: ${opts.image} is not in the engine, so slim cannot name the slim image after it`);
  }
  const name = opts.tag ?? defaultOutputName(named ?? 'slim:latest');
  const out = parseImageName(name);
  if (out.digest) throw new UsageError(`--tag ${name} must not carry a digest`);
  return { name };
}

/** Without an engine, nothing is taken from one or left in one: the run's image store goes with the run. */
function daemonlessRefs(opts: BuildOptions): void {
  const hint = 'give a file, layout or registry: docker-archive:FILE, oci-archive:FILE, oci:DIR or registry:HOST/REPO:TAG';
  if (parseSourceRef(opts.image).kind === 'engine') throw new UsageError(`${opts.image}: the daemonless runtime has no engine to take an image from`, { hint });
  if (opts.outputs.some((o) => o.kind === 'docker')) throw new UsageError('the daemonless runtime has no engine to keep the slim image in: name its outputs with -o', { hint });
  if (opts.keepFailed) throw new UsageError('--keep-failed keeps a failed image in the engine, and the daemonless runtime has none', { hint: 'use Docker or Podman to keep and debug a failed image' });
}
