import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Logger } from '../../log.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Scope } from '../../runtime/scope.js';
import type { FileIndex } from '../../rootfs/file-index.js';
import type { ContentReader } from '../../sources/content-spool.js';
import type { SmallEntry } from '../../tar/small-archive.js';
import { probesDir } from '../../probe/probe-image.js';
import { HelperFailed, openHelper, WORK_DIR } from '../helper-container.js';
import type { ClassLoadEvidence } from './class-log.js';
import type { JavaHome } from './java-home.js';
import { sameBuild, type JdkSource } from './jdk-source.js';
import { ensureHelperImage, imageSha256 } from '../helper-image.js';
import { moduleSet, packagesByModule, parseJdepsModules } from './module-set.js';

export interface JlinkResult {
  modules: string[];
  /** Shared-archive classes no module holds (evidence slim could not place; reported). */
  unplaced: string[];
  jdeps: string[];
  /** The original runtime image's package → module map: a re-trace's shared classes are placed with it. */
  packages: Map<string, string>;
  /** The rebuilt runtime image and the class-sharing archives dumped for it, on this machine. */
  files: { modules: { hostFile: string; size: number }; archives: { path: string; hostFile: string; size: number }[] };
  /** The checker's compiled classes, as a tar of `chk/…` to put into a volume. */
  checker: Buffer;
  /** Where jlink's jmods came from, said in the report. */
  jmodsFrom: string;
}

export interface JlinkInput {
  home: JavaHome;
  source: Exclude<JdkSource, { kind: 'none' }>;
  /** The image to run jlink in when it has its own jmods. */
  imageId: string;
  index: FileIndex;
  content: ContentReader;
  evidence: ClassLoadEvidence;
  /** The class-sharing archives the slim image holds, each dumped again for the new modules with the flags it is for. */
  archives: CdsArchive[];
  tmp: string;
}

const CHECKER = 'SlimJvmCheck';

export interface CdsArchive {
  path: string;
  flags: string[];
}

/** The JDK's default archives: classes.jsa, and classes_nocoops.jsa for heaps without compressed pointers. */
export function cdsArchivesOf(home: JavaHome, kept: (path: string) => boolean): CdsArchive[] {
  const dir = posix.join(home.home, 'lib/server');
  return [
    { path: posix.join(dir, 'classes.jsa'), flags: [] },
    { path: posix.join(dir, 'classes_nocoops.jsa'), flags: ['-XX:-UseCompressedOops'] },
  ].filter((a) => kept(a.path));
}

/**
 * jlink of the modules the evidence names, in a helper: the image itself when it has jmods, else
 * the helper image of the same JDK build (checked by sha256 before anything is used from it).
 * Then the class-sharing archive is dumped again by the image's own JVM build with the new
 * modules in place. Fails with HelperFailed, whose message the report gives.
 */
export async function runJlink(input: JlinkInput, deps: { runtime: Runtime; scope: Scope; log: Logger }): Promise<JlinkResult> {
  const { runtime, scope, log } = deps;
  const { home, source } = input;
  let image = input.imageId;
  let built = false;
  if (source.kind === 'helper') {
    ({ built } = await ensureHelperImage(runtime, source, log, scope.signal, input.tmp));
    image = source.tag;
  }
  const jars = appJars(input.evidence, input.index);
  const inputs: SmallEntry[] = [
    { name: 'out', mode: 0o755 },
    { name: 'chk', mode: 0o755 },
    { name: `${CHECKER}.java`, mode: 0o644, body: readFileSync(join(probesDir(), 'jvm', `${CHECKER}.java`)) },
  ];
  for (const [i, path] of jars.entries()) {
    const e = input.index.get(path);
    if (e?.kind === 'file') inputs.push({ name: `jars/${i}-${posix.basename(path)}`, mode: 0o644, body: await input.content.read(e) });
  }
  const helper = await openHelper(deps, image, 'jlink', inputs);
  try {
    const at = (p: string) => posix.join(home.home, p);
    if (source.kind === 'helper') {
      const sums = parseSha256sum((await helper.exec(['sha256sum', home.modules, home.libjvm], 'sha256sum in the helper')).stdout);
      const check = sameBuild(
        { modules: await imageSha256(input.index, input.content, home.modules), libjvm: await imageSha256(input.index, input.content, home.libjvm) },
        { modules: sums.get(home.modules) ?? 'missing', libjvm: sums.get(home.libjvm) ?? 'missing' },
      );
      if (!check.same) {
        // Of no use to any later run of this image either.
        if (built) await runtime.removeImage(source.tag).catch(() => {});
        throw new HelperFailed(`${check.reason} (${source.packages.join(' ')})`);
      }
    }
    const packages = packagesByModule((await helper.exec([at('bin/jimage'), 'list', home.modules], 'jimage list')).stdout);
    const feature = javaFeature((await helper.exec([home.launcher, '-version'], 'java -version')).stderr);
    const jarPaths = inputs.filter((i) => i.name.startsWith('jars/')).map((i) => `${WORK_DIR}/${i.name}`);
    const jdeps = jarPaths.length
      ? parseJdepsModules((await helper.exec([at('bin/jdeps'), '--print-module-deps', '--ignore-missing-deps', '--multi-release', String(feature), ...jarPaths], 'jdeps of the app\'s jars')).stdout)
      : [];
    const set = moduleSet(input.evidence, packages, jdeps);
    log.step(`jlink of ${set.modules.length} modules: ${set.modules.join(', ')}`);
    // jlink takes <home>/jmods by default. --strip-java-debug-attributes: --strip-debug would also strip native symbols, with objcopy, which the helper lacks.
    await helper.exec([at('bin/jlink'), '--add-modules', set.modules.join(','), '--output', `${WORK_DIR}/jre`, '--strip-java-debug-attributes', '--no-header-files', '--no-man-pages', '--compress=2'], 'jlink');
    // Before the helper's own modules are replaced below: javac lives in them.
    await helper.exec([at('bin/javac'), '--release', '11', '-d', `${WORK_DIR}/chk`, `${WORK_DIR}/${CHECKER}.java`], 'compiling the JVM checker');
    const checker = await helper.copyTree(`${WORK_DIR}/chk`);
    const dir = await mkdtemp(join(input.tmp, 'jvm-'));
    const modules = { hostFile: join(dir, 'modules'), size: await helper.copyFile(`${WORK_DIR}/jre/lib/modules`, join(dir, 'modules')) };
    const archives: JlinkResult['files']['archives'] = [];
    if (input.archives.length) {
      // Dumped by this very JVM build over the new modules: an archive is tied to the runtime image it was made with.
      await helper.exec(['cp', `${WORK_DIR}/jre/lib/modules`, home.modules], 'putting the new lib/modules in place in the helper');
      for (const a of input.archives) {
        const out = `${WORK_DIR}/out/${posix.basename(a.path)}`;
        await helper.exec([home.launcher, ...a.flags, '-Xshare:dump', `-XX:SharedArchiveFile=${out}`], `java ${[...a.flags, '-Xshare:dump'].join(' ')}`);
        const hostFile = join(dir, posix.basename(a.path));
        archives.push({ path: a.path, hostFile, size: await helper.copyFile(out, hostFile) });
      }
    }
    return { modules: set.modules, unplaced: set.unplaced, jdeps, packages, files: { modules, archives }, checker, jmodsFrom: source.kind === 'image' ? `the image's own ${source.jmods}` : `helper ${source.tag} (${source.packages.join(' ')}, same build by sha256)` };
  } finally {
    await helper.close();
  }
}

/** The app's jars the JVM loaded classes from (`file:/app/app.jar`, `jar:file:/app/lib/x.jar!/`), as image paths that hold files. */
export function appJars(evidence: ClassLoadEvidence, index: FileIndex): string[] {
  const jars = new Set<string>();
  for (const loc of evidence.appLocations) {
    const m = /^(?:jar:)?file:(\/[^!]*?\.jar)(?:!|$)/.exec(loc);
    if (!m) continue;
    const real = index.resolve(decodeURIComponent(m[1]!)).real;
    if (index.get(real)?.kind === 'file') jars.add(real);
  }
  return [...jars].sort();
}

/** `sha256sum A B` output, by path. */
export function parseSha256sum(out: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/** `java -version` says `openjdk version "17.0.15" …` (or "1.8.0_392" on 8): the feature release, for jdeps --multi-release. */
export function javaFeature(versionText: string): number {
  const m = /version "(?:1\.)?(\d+)/.exec(versionText);
  if (!m) throw new HelperFailed(`cannot tell the Java version from: ${versionText.trim().split('\n')[0] ?? ''}`);
  return Number(m[1]);
}
