import { findJavaHomes, type JavaHome } from '../rebuild/jvm/java-home.js';
import { emptyEvidence, readClassLoadLog, type ClassLoadEvidence } from '../rebuild/jvm/class-log.js';
import { jdkSourceFor, type JdkSource } from '../rebuild/jvm/jdk-source.js';
import { cdsArchivesOf, runJlink, type JlinkResult } from '../rebuild/jvm/jlink-run.js';
import { checkerCheck, classSharingCheck, listModules, retraceCheck } from '../rebuild/jvm/jvm-checks.js';
import type { RebuildCheck } from '../rebuild/rebuild-check.js';
import { missingPaths } from '../closure/repair.js';
import type { Replacement } from '../rebuild/replaced-files.js';
import { judge, runSlim } from './verify-step.js';
import type { Packed } from './pack-step.js';
import type { BuildDeps, OpenedImage } from './build-types.js';
import { keepOnError, keepOriginal, packedOutcome, packReplaced, traceChecks, type RebuildInputs, type RebuildOutcome } from './rebuild-common.js';

/**
 * --rebuild jvm: the slim image's lib/modules rebuilt by jlink from the modules the traced runs
 * loaded, with a fresh class-sharing archive; kept only when every check passes on it. Returns
 * the rebuilt image (the caller discards the whole-file one) or none, with the report either way.
 */
export async function rebuildJvm(a: RebuildInputs, deps: BuildDeps): Promise<RebuildOutcome> {
  const started = Date.now();
  const { log } = deps;
  const keep = (reason: string) => keepOriginal('jvm', reason, started, deps);
  const { index } = a.opened.img;
  const homes = findJavaHomes(index).filter((h) => a.closure.selection.has(h.modules));
  const home = homes[0];
  if (!home) return keep('the slim image holds no Java runtime image (a lib/modules next to lib/server/libjvm.so and bin/java)');
  if (homes.length > 1) log.warn(`--rebuild jvm: the slim image holds ${homes.length} Java homes; only ${home.home} is rebuilt`);
  const evidence = a.classLogs.reduce<ClassLoadEvidence>((ev, text) => readClassLoadLog(text, ev), emptyEvidence());
  if (a.classLogs.length === 0 || evidence.modules.size + evidence.sharedClasses.size === 0) {
    return keep('no JVM logged the classes it loaded in the traced runs (JAVA_TOOL_OPTIONS may be overridden, or the JVM is older than 9)');
  }
  const source = jdkSourceFor(home, a.packages);
  if (source.kind === 'none') return keep(`no jmods of this exact JDK build: ${source.reason}`);

  log.step(`rebuilding ${home.modules} from the ${a.classLogs.length} class-load logs of the traced runs`);
  // Opt-in and never at the cost of the image that passed.
  return rebuildWith(a, home, source, evidence, deps, started).catch((err: unknown) => keepOnError('jvm', err, started, deps));
}

async function rebuildWith(a: RebuildInputs, home: JavaHome, source: Exclude<JdkSource, { kind: 'none' }>, evidence: ClassLoadEvidence, deps: BuildDeps, started: number): Promise<RebuildOutcome> {
  const { index } = a.opened.img;
  const linked = await runJlink({ home, source, imageId: a.opened.inspect.id, index, content: a.opened.spool, evidence, archives: cdsArchivesOf(home, (p) => a.closure.selection.has(p)), tmp: a.opened.tmp }, deps);
  const detail = { modules: linked.modules, jdeps: linked.jdeps, unplacedSharedClasses: linked.unplaced, jmods: linked.jmodsFrom, locales: [...evidence.locales].sort() };
  const replacements = replacementsOf(index, home, linked);
  const files = replacements.map((r) => ({ path: r.path, before: sizeOf(a.opened, r.path), after: r.size }));
  const packed = await packReplaced(a, replacements);

  const checks: RebuildCheck[] = [];
  if (linked.files.archives.length) checks.push(await classSharingCheck(deps, packed.slimId, home, cdsArchivesOf(home, (p) => linked.files.archives.some((x) => x.path === p))));
  checks.push(await checkerCheck(deps, { whole: a.packed.slimId, rebuilt: packed.slimId }, home, linked.checker, [...evidence.locales].sort()));
  const verdict = judge(a.plan, a.baseline, await runSlim(a.plan, a.baseline, packed.slimId, deps));
  checks.push({ name: 'the checks', passed: verdict.passed, detail: verdict.summary });
  checks.push(await retrace(a, packed, home, evidence, linked, deps));
  return packedOutcome('jvm', { files, detail, checks, replacements, packed }, started, deps);
}

/** The same checks under the probe on the rebuilt image, with the class-load log: what its runs open and load now. */
async function retrace(a: RebuildInputs, packed: Packed, home: JavaHome, original: ClassLoadEvidence, linked: JlinkResult, deps: BuildDeps): Promise<RebuildCheck> {
  const probe = await traceChecks(a, packed.slimId, 'rebuild', deps, { jvmClassLog: true });
  if (!probe.run.passed) return { name: 're-trace', passed: false, detail: `the checks failed under the probe: ${probe.run.summary}` };
  const retraced = probe.classLogs.reduce<ClassLoadEvidence>((ev, text) => readClassLoadLog(text, ev), emptyEvidence());
  const missing = missingPaths(a.opened.img.index, probe.records, a.closure.selection, a.ignore);
  return retraceCheck(original, retraced, linked.packages, await listModules(deps, packed.slimId, home), missing);
}

function replacementsOf(index: OpenedImage['img']['index'], home: JavaHome, linked: JlinkResult): Replacement[] {
  const real = (p: string) => index.resolve(p).real;
  return [
    { path: real(home.modules), ...linked.files.modules },
    ...linked.files.archives.map((a) => ({ path: real(a.path), hostFile: a.hostFile, size: a.size })),
  ];
}

function sizeOf(opened: OpenedImage, path: string): number {
  const e = opened.img.index.get(path);
  return e?.kind === 'file' ? e.size : 0;
}
