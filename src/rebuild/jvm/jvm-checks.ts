import { Readable } from 'node:stream';
import type { Runtime } from '../../runtime/runtime.js';
import type { Scope } from '../../runtime/scope.js';
import { compareOutputs, runOnce } from '../run-once.js';
import { filledVolume } from '../helper-container.js';
import { moduleSet } from './module-set.js';
import type { ClassLoadEvidence } from './class-log.js';
import type { JavaHome } from './java-home.js';
import type { RebuildCheck } from '../rebuild-check.js';


type Deps = { runtime: Runtime; scope: Scope };

/**
 * The rebuilt image's JVM starts with class sharing required, once per archive (its flags pick
 * it): a stale archive makes -Xshare:on fail, where the default would quietly run without it.
 */
export async function classSharingCheck(deps: Deps, image: string, home: JavaHome, archives: readonly { flags: string[] }[]): Promise<RebuildCheck> {
  const started: string[] = [];
  for (const a of archives) {
    const r = await runOnce(deps, { image, entrypoint: [home.launcher], cmd: [...a.flags, '-Xshare:on', '-version'] }, 'rebuild-check');
    const said = (r.stderr.trim() || r.stdout.trim()).split('\n').filter(Boolean);
    const how = ['java', ...a.flags, '-Xshare:on', '-version'].join(' ');
    if (r.exitCode !== 0 || r.timedOut) return { name: 'class sharing (-Xshare:on)', passed: false, detail: `${how} exited ${r.exitCode}: ${said.slice(-1)[0] ?? ''}` };
    started.push(how);
  }
  return { name: 'class sharing (-Xshare:on)', passed: true, detail: `the JVM starts with the new archive${started.length > 1 ? 's' : ''}: ${started.join('; ')}` };
}

export const CHECKER_DIR = '/.slim-jvm-check';

/**
 * The checker (probes/jvm/SlimJvmCheck.java) run on the whole-file slim image and on the rebuilt
 * one: the trust store's entries, and each locale the app used (dates, month names, display
 * names) must come out the same. The JVM falls back to English or an empty trust store silently.
 */
export async function checkerCheck(deps: Deps, images: { whole: string; rebuilt: string }, home: JavaHome, checker: Buffer, locales: readonly string[]): Promise<RebuildCheck> {
  const name = 'trust store and locales';
  const classes = await filledVolume(deps, images.whole, 'jvm-check', CHECKER_DIR, Readable.from([checker]));
  try {
    const r = await compareOutputs(deps, images, { entrypoint: [home.launcher], cmd: ['-cp', `${CHECKER_DIR}/chk`, 'SlimJvmCheck', ...locales], volumes: [{ source: classes.name, target: CHECKER_DIR, readOnly: true }] });
    if ('failed' in r) return { name, passed: false, detail: r.failed };
    const trust = /^trust (\d+)/m.exec(r.whole)?.[1];
    return r.diff
      ? { name, passed: false, detail: `differs from the whole-file image: ${r.diff}` }
      : { name, passed: true, detail: `the same as the whole-file image: ${trust !== undefined ? `${trust} trusted certificates` : 'no trust store'}, ${locales.length ? `locales ${locales.join(', ')}` : 'no locale data used'}` };
  } finally {
    await classes.remove();
  }
}


/** `java --list-modules` of the rebuilt image: `java.base@17.0.19`, a module a line. */
export async function listModules(deps: Deps, image: string, home: JavaHome): Promise<string[]> {
  const r = await runOnce(deps, { image, entrypoint: [home.launcher], cmd: ['--list-modules'] }, 'rebuild-check');
  if (r.exitCode !== 0) throw new Error(`java --list-modules exited ${r.exitCode} in the rebuilt image: ${lastLine(r.stderr)}`);
  return parseModuleList(r.stdout);
}

export function parseModuleList(out: string): string[] {
  return out.split('\n').map((l) => l.trim().split('@')[0]!).filter((m) => /^[A-Za-z][\w.]*$/.test(m)).sort();
}

/**
 * The re-trace of the rebuilt image under the same checks. Its runs must open no file the slim
 * image lacks, and every module the original's runs loaded classes from must be in the rebuilt
 * image: a module jlink left out is not an error the JVM reports when a service looks it up
 * (locale data, security providers). A run may load fewer modules than the original's (a service
 * lookup stops at the first provider, and their order changes with the module graph): that is
 * said, not failed, when the modules are there.
 */
export function retraceCheck(original: ClassLoadEvidence, retraced: ClassLoadEvidence, packages: ReadonlyMap<string, string>, present: readonly string[], missingFiles: readonly string[]): RebuildCheck {
  const before = moduleSet(original, packages).modules;
  const after = new Set(moduleSet(retraced, packages).modules);
  const there = new Set(present);
  const absent = before.filter((m) => !there.has(m));
  const name = 're-trace';
  if (absent.length) return { name, passed: false, detail: `the rebuilt image lacks ${absent.join(', ')}, which the original's runs loaded classes from` };
  if (missingFiles.length) return { name, passed: false, detail: `the rebuilt image's runs open ${missingFiles.slice(0, 3).join(', ')}${missingFiles.length > 3 ? ', …' : ''}, which the slim image lacks` };
  const unused = before.filter((m) => !after.has(m));
  return { name, passed: true, detail: `the same checks open no missing file, and all ${before.length} modules the original's runs loaded from are in the image${unused.length ? ` (${unused.join(', ')} not loaded this time)` : ''}` };
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop() ?? '';
}
