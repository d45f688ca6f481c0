import type { Runtime, VolumeMount } from '../../runtime/runtime.js';
import type { Scope } from '../../runtime/scope.js';
import { compareOutputs } from '../run-once.js';
import type { RebuildCheck } from '../rebuild-check.js';
import { CHECKER } from './icu-run.js';
import { checkedLines } from './icu-data.js';

/**
 * The ICU checker (probes/icu/slim-icu-check.c) on the whole-file slim image and the rebuilt one:
 * for each locale the kept items hold, the collator's status, version and actual locale, and a
 * full date. A dropped item shows as a fallback status, another version or root's data.
 */
export async function icuCheckerCheck(deps: { runtime: Runtime; scope: Scope }, images: { whole: string; rebuilt: string }, mount: VolumeMount, locales: { collations: string[]; data: string[] }): Promise<RebuildCheck> {
  const name = 'locales and collations';
  const all = [...new Set([...locales.collations, ...locales.data])].sort();
  const r = await compareOutputs(deps, images, { entrypoint: [CHECKER], cmd: all, volumes: [mount] }, (output) => checkedLines(output, locales));
  if ('failed' in r) return { name, passed: false, detail: r.failed };
  const version = /^icu \S+ data (\S+)/m.exec(r.whole)?.[1];
  return r.diff
    ? { name, passed: false, detail: `differs from the whole-file image: ${r.diff}` }
    : { name, passed: true, detail: `the same as the whole-file image: ${locales.collations.length} collations, ${locales.data.length} locales' dates${version ? `, data version ${version}` : ''}` };
}

/** The re-trace with ICU_DATA at the kept items: no item of the package it looked for may be missing, nor any file of the image. */
export function icuRetraceCheck(missedItems: readonly string[], missingFiles: readonly string[], keptCount: number, seesFailedOpens = true): RebuildCheck {
  const name = 're-trace';
  const few = (xs: readonly string[]) => `${xs.slice(0, 3).join(', ')}${xs.length > 3 ? `, … (${xs.length})` : ''}`;
  if (missedItems.length) return { name, passed: false, detail: `the rebuilt image's runs looked for ${few(missedItems)}, which the rebuilt data lacks` };
  if (missingFiles.length) return { name, passed: false, detail: `the rebuilt image's runs open ${few(missingFiles)}, which the slim image lacks` };
  // fanotify reports only opens that succeeded: a missed item would not show, so this is said.
  if (!seesFailedOpens) return { name, passed: true, detail: `the same checks open no missing file; items looked for and missed are not visible without strace (the engine grants no SYS_PTRACE), so the locale and collation check is the one that tells` };
  return { name, passed: true, detail: `the same checks look for no item outside the ${keptCount} kept, and open no missing file` };
}
