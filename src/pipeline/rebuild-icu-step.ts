import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RebuildReport } from '../report/report.js';
import { missingPaths } from '../closure/repair.js';
import { runProbe, type ProbeBackend } from '../probe/run-probe.js';
import { HelperFailed } from '../rebuild/helper-container.js';
import { BASE_ITEMS, findIcuData, icuSourceFor, localesOf, missedItems, openedItems, type IcuData } from '../rebuild/icu/icu-data.js';
import { ICU_MOUNT, openIcuWorkbench, type IcuWorkbench } from '../rebuild/icu/icu-run.js';
import { icuCheckerCheck, icuRetraceCheck } from '../rebuild/icu/icu-checks.js';
import type { RebuildCheck } from '../rebuild/rebuild-check.js';
import { withOwnMounts } from './run-mounts.js';
import { identityOf } from './identity.js';
import { judge, runSlim } from './verify-step.js';
import { keepOriginal, packedOutcome, packReplaced, type RebuildInputs, type RebuildOutcome } from './rebuild-common.js';
import type { BuildDeps, OpenedImage } from './build-types.js';
import type { AccessRecord } from '../trace/record.js';

/**
 * --rebuild icu: ICU's data library rebuilt with only the items the app used (a traced run of the
 * original with ICU_DATA at the items as files, each one an open), plus a base set; kept only when
 * the checker, the checks and a re-trace pass on it.
 */
export async function rebuildIcu(a: RebuildInputs, deps: BuildDeps): Promise<RebuildOutcome> {
  const started = Date.now();
  const keep = (reason: string, rest: Partial<RebuildReport> = {}) => keepOriginal('icu', reason, started, deps, rest);
  const { index } = a.opened.img;
  const libs = findIcuData(index).filter((l) => a.closure.selection.has(l.path));
  const lib = libs[0];
  if (!lib) return keep('the slim image holds no ICU data library (libicudata.so.N)');
  if (libs.length > 1) deps.log.warn(`--rebuild icu: the slim image holds ${libs.length} ICU data libraries; only ${lib.path} is rebuilt`);
  const source = icuSourceFor(lib, a.packages);
  if (source.kind === 'none') return keep(`no ICU tools of this exact version: ${source.reason}`);
  deps.log.step(`rebuilding ${lib.path}: taking its ${lib.size} bytes of data apart with the ICU tools of ${source.packages[0]}`);
  let bench: IcuWorkbench | undefined;
  try {
    bench = await openIcuWorkbench(lib, source, await sha256Of(a.opened, lib.path), a.opened.tmp, deps);
    return await rebuildWith(a, lib, source.tag, source.packages, bench, deps, started);
  } catch (err) {
    deps.scope.throwIfAborted();
    return keep(err instanceof HelperFailed ? err.message : `${(err as Error).message.split('\n')[0]}`);
  } finally {
    await bench?.close();
  }
}

async function rebuildWith(a: RebuildInputs, lib: IcuData, tag: string, tools: string[], bench: IcuWorkbench, deps: BuildDeps, started: number): Promise<RebuildOutcome> {
  const traced = await tracedRun(a, a.opened.inspect.id, `ICU_DATA=${ICU_MOUNT}/items`, bench, 'icu', deps);
  if (!traced.passed) return keepOriginal('icu', `the checks did not pass on the original with ICU_DATA at the items: ${traced.summary}`, started, deps);
  const used = openedItems(traced.records, bench.itemsDir, bench.all);
  const kept = [...new Set([...used, ...BASE_ITEMS.filter((i) => bench.all.has(i))])].sort();
  deps.log.step(`linking ${lib.path} of ${kept.length} of its ${bench.all.size} items (${used.size} the app opened, the rest the base set)`);
  const hostFile = join(a.opened.tmp, `icu-${lib.major}.so`);
  const size = await bench.rebuild(kept, hostFile);
  const replacement = { path: lib.path, hostFile, size };
  const packed = await packReplaced(a, [replacement]);
  const locales = localesOf(kept);
  const detail = { items: String(kept.length), itemsInData: String(bench.all.size), opened: String(used.size), base: BASE_ITEMS.filter((i) => bench.all.has(i)), collations: locales.collations, locales: locales.data, helper: `${tag} (${tools.join(' ')}, same build by sha256)` };
  const checks: RebuildCheck[] = [];
  checks.push(await icuCheckerCheck(deps, { whole: a.packed.slimId, rebuilt: packed.slimId }, bench.mount, locales));
  const verdict = judge(a.plan, a.baseline, await runSlim(a.plan, a.baseline, packed.slimId, deps));
  checks.push({ name: 'the checks', passed: verdict.passed, detail: verdict.summary });
  const retraced = await tracedRun(a, packed.slimId, `ICU_DATA=${ICU_MOUNT}/kept`, bench, 'icu-rebuilt', deps);
  checks.push(
    retraced.passed
      ? icuRetraceCheck(missedItems(retraced.records, bench.keptDir, bench.all, new Set(kept)), missingPaths(a.opened.img.index, retraced.records, a.closure.selection, a.ignore), kept.length, retraced.backend !== 'fanotify')
      : { name: 're-trace', passed: false, detail: `the checks failed under the probe: ${retraced.summary}` },
  );
  const files = [{ path: lib.path, before: lib.size, after: size }];
  return packedOutcome('icu', { files, detail, checks, replacements: [replacement], packed }, started, deps);
}

/** The checks under the probe with ICU_DATA set and the items mounted: each item ICU uses is a file it opens. */
async function tracedRun(a: RebuildInputs, image: string, icuData: string, bench: IcuWorkbench, round: string, deps: BuildDeps): Promise<{ passed: boolean; summary: string; records: AccessRecord[]; backend: ProbeBackend }> {
  const { runtime, scope, log } = deps;
  const settings = a.plan.settings;
  const identity = await identityOf(a.opened, settings);
  const probe = await withOwnMounts(deps, settings, 'probe', (own) =>
    runProbe({ runtime, scope, log, image, config: a.opened.img.config.config ?? {}, settings: own, identity, backend: 'auto', check: a.plan.check, ports: a.plan.ports, round, extra: { env: [icuData], volumes: [bench.mount] }, ...a.baseline.limits }),
  );
  return { passed: probe.run.passed, summary: probe.run.summary, records: probe.records, backend: probe.backend };
}

async function sha256Of(opened: OpenedImage, path: string): Promise<string> {
  const e = opened.img.index.get(path);
  if (e?.kind !== 'file') throw new HelperFailed(`${path} is not a file`);
  const hash = createHash('sha256');
  await pipeline(opened.spool.stream(e), hash);
  return hash.digest('hex');
}
