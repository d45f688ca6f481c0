import type { ClassLoadEvidence } from './class-log.js';

/**
 * `jimage list` of a runtime image: each module's package names. Classes loaded from the CDS
 * archive carry no module in the class-load log; their package finds it here.
 */
export function packagesByModule(jimageList: string): Map<string, string> {
  const byPackage = new Map<string, string>();
  let module: string | undefined;
  for (const raw of jimageList.split('\n')) {
    const header = /^Module:\s*(\S+)/.exec(raw);
    if (header) {
      module = header[1];
      continue;
    }
    const path = raw.trim();
    if (!module || !path.endsWith('.class')) continue;
    const slash = path.lastIndexOf('/');
    if (slash > 0) byPackage.set(path.slice(0, slash).replace(/\//g, '.'), module);
  }
  return byPackage;
}

/** `jdeps --print-module-deps` prints one comma-separated line of module names. */
export function parseJdepsModules(output: string): string[] {
  return output
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z][\w.]*$/.test(s));
}

export interface ModuleSet {
  modules: string[];
  /** Shared-archive classes whose package no module of the runtime image holds. */
  unplaced: string[];
}

/**
 * The modules `jlink` gets: java.base, every module a traced run loaded a class from (directly,
 * or through the CDS archive by package), and what jdeps says the app's jars need. jdeps alone
 * misses service-loaded modules such as jdk.localedata, so it only adds.
 */
export function moduleSet(evidence: ClassLoadEvidence, packages: ReadonlyMap<string, string>, jdeps: readonly string[] = []): ModuleSet {
  const modules = new Set<string>(['java.base', ...evidence.modules, ...jdeps]);
  const unplaced: string[] = [];
  for (const cls of evidence.sharedClasses) {
    const dot = cls.lastIndexOf('.');
    const module = dot > 0 ? packages.get(cls.slice(0, dot)) : undefined;
    if (module) modules.add(module);
    else unplaced.push(cls);
  }
  return { modules: [...modules].sort(), unplaced: unplaced.sort() };
}
