import { join } from 'node:path';
import type { RebuildReport } from '../report/report.js';
import { missingPaths } from '../closure/repair.js';
import { imageSha256 } from '../rebuild/helper-image.js';
import { BASE_ITEMS, findIcuData, icuSourceFor, localesOf, missedItems, openedItems, type IcuData } from '../rebuild/icu/icu-data.js';
import { ICU_MOUNT, openIcuWorkbench, type IcuWorkbench } from '../rebuild/icu/icu-run.js';
import { icuCheckerCheck, icuRetraceCheck } from '../rebuild/icu/icu-checks.js';
import type { RebuildCheck } from '../rebuild/rebuild-check.js';
import { judge, runSlim } from './verify-step.js';
import { keepOnError, keepOriginal, packedOutcome, packReplaced, traceChecks, type RebuildInputs, type RebuildOutcome } from './rebuild-common.js';
import type { BuildDeps } from './build-types.js';

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
    bench = await openIcuWorkbench(lib, source, await imageSha256(a.opened.img.index, a.opened.spool, lib.path), a.opened.tmp, deps);
    return await rebuildWith(a, lib, source.tag, source.packages, bench, deps, started);
  } catch (err) {
    return keepOnError('icu', err, started, deps);
  } finally {
    await bench?.close();
  }
}

async function rebuildWith(a: RebuildInputs, lib: IcuData, tag: string, tools: string[], bench: IcuWorkbench, deps: BuildDeps, started: number): Promise<RebuildOutcome> {
  // Each item ICU uses is then a file it opens.
  const traced = await traceChecks(a, a.opened.inspect.id, 'icu', deps, { extra: { env: [`ICU_DATA=${ICU_MOUNT}/items`], volumes: [bench.mount] } });
  if (!traced.run.passed) return keepOriginal('icu', `the checks did not pass on the original with ICU_DATA at the items: ${traced.run.summary}`, started, deps);
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
  const retraced = await traceChecks(a, packed.slimId, 'icu-rebuilt', deps, { extra: { env: [`ICU_DATA=${ICU_MOUNT}/kept`], volumes: [bench.mount] } });
  checks.push(
    retraced.run.passed
      ? icuRetraceCheck(missedItems(retraced.records, bench.keptDir, bench.all, new Set(kept)), missingPaths(a.opened.img.index, retraced.records, a.closure.selection, a.ignore), kept.length, retraced.backend !== 'fanotify')
      : { name: 're-trace', passed: false, detail: `the checks failed under the probe: ${retraced.run.summary}` },
  );
  const files = [{ path: lib.path, before: lib.size, after: size }];
  return packedOutcome('icu', { files, detail, checks, replacements: [replacement], packed }, started, deps);
}
