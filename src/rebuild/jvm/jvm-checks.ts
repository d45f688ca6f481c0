import { Readable } from 'node:stream';
import { labelsFor } from '../../runtime/run-settings.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Scope } from '../../runtime/scope.js';
import { runOnce } from '../run-once.js';
import { moduleSet } from './module-set.js';
import type { ClassLoadEvidence } from './class-log.js';
import type { JavaHome } from './java-home.js';
import { firstDifference, type RebuildCheck } from '../rebuild-check.js';


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
  const { runtime, scope } = deps;
  const volume = `slim-jvm-check-${scope.id}`;
  const labels = labelsFor(scope.id, 'rebuild-check');
  await runtime.createVolume(volume, labels);
  const cleanup = `volume ${volume}`;
  scope.defer(cleanup, () => runtime.removeVolume(volume));
  try {
    const mount = [{ source: volume, target: CHECKER_DIR, readOnly: false }];
    const filler = await runtime.create({ image: images.whole, volumes: mount, labels, network: 'none' });
    try {
      await filler.putArchive(CHECKER_DIR, Readable.from([checker]));
    } finally {
      await filler.remove();
    }
    const run = (image: string) => runOnce(deps, { image, entrypoint: [home.launcher], cmd: ['-cp', `${CHECKER_DIR}/chk`, 'SlimJvmCheck', ...locales], volumes: [{ ...mount[0]!, readOnly: true }] }, 'rebuild-check');
    const whole = await run(images.whole);
    const rebuilt = await run(images.rebuilt);
    if (whole.exitCode !== 0) return { name: 'trust store and locales', passed: false, detail: `the checker failed on the whole-file image (exit code ${whole.exitCode}): ${lastLine(whole.stderr)}` };
    if (rebuilt.exitCode !== 0) return { name: 'trust store and locales', passed: false, detail: `the checker failed on the rebuilt image (exit code ${rebuilt.exitCode}): ${lastLine(rebuilt.stderr)}` };
    const diff = firstDifference(whole.stdout, rebuilt.stdout);
    const trust = /^trust (\d+)/m.exec(whole.stdout)?.[1];
    return diff
      ? { name: 'trust store and locales', passed: false, detail: `differs from the whole-file image: ${diff}` }
      : { name: 'trust store and locales', passed: true, detail: `the same as the whole-file image: ${trust !== undefined ? `${trust} trusted certificates` : 'no trust store'}, ${locales.length ? `locales ${locales.join(', ')}` : 'no locale data used'}` };
  } finally {
    await runtime.removeVolume(volume);
    scope.release(cleanup);
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
