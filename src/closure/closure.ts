import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import type { PackageDatabase } from '../packages/database.js';
import type { AccessRecord } from '../trace/record.js';
import type { ClosurePolicy, ClosureResult } from './policy.js';
import { startClosure, type ClosurePass } from './context.js';
import { traced } from './passes/traced.js';
import { repairs } from './passes/repairs.js';
import { listed } from './passes/listed.js';
import { entrypoints } from './passes/entrypoints.js';
import { userDatabase } from './passes/user-db.js';
import { includes } from './passes/includes.js';
import { includeBins } from './passes/include-bins.js';
import { presets } from './passes/presets.js';
import { parents } from './passes/parents.js';
import { wholePackages } from './passes/whole-packages.js';
import { symlinkTargets } from './passes/symlink-targets.js';
import { pycSources } from './passes/pyc-sources.js';
import { pythonLandmark } from './passes/python-landmark.js';
import { elfLibraries } from './passes/elf-libraries.js';
import { shebangs } from './passes/shebangs.js';
import { linksToKept } from './passes/links-to-kept.js';

export { isIgnored, type ClosurePolicy, type ClosureResult } from './policy.js';

/**
 * The rules, in the order each stage runs them. A path keeps every reason found for it, the
 * first one first, and --exclude counts each refusal: the order is part of the result.
 */
const PASSES: readonly ClosurePass[] = [
  traced, repairs, listed, entrypoints, userDatabase, includes, includeBins, presets,
  parents, wholePackages, symlinkTargets, pycSources, pythonLandmark, elfLibraries, shebangs,
  linksToKept,
];

/**
 * From what the trace saw to what the image must hold: every accessed path plus what a trace
 * cannot see (symlinks on the way, parent directories, ELF interpreters and libraries, script
 * interpreters, the user database), to a fixpoint. Pure over the index and a content reader.
 * `packages` is the image's package database when the caller has read it; else it is read here
 * if a rule needs it (--keep-packages, --keep app, a listed directory).
 */
export async function computeClosure(index: FileIndex, records: Iterable<AccessRecord>, policy: ClosurePolicy, content: ContentReader, packages?: PackageDatabase): Promise<ClosureResult> {
  const run = startClosure(index, records, policy, content, packages);
  const hooks = PASSES.map((pass) => pass(run.ctx));
  const fixpoint = async () => {
    for (let kept = run.next(); kept; kept = run.next()) for (const h of hooks) await h.visit?.(kept);
  };
  for (const h of hooks) await h.seed?.();
  await fixpoint();
  // What the sweeps add is followed once more; links that land on that are not looked for again.
  for (const h of hooks) await h.sweep?.();
  await fixpoint();
  return run.result();
}
