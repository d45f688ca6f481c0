import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import type { AccessRecord } from '../trace/record.js';
import { joinInside } from '../rootfs/safe-path.js';
import { Selection, type Reason } from './selection.js';
import { globMatcher } from './globs.js';
import { isIgnored, type ClosurePolicy, type ClosureResult } from './policy.js';
import { readPackageDatabase, type PackageDatabase } from '../packages/database.js';
import { packagedPaths } from '../packages/owners.js';

/** A path as it joins the selection, handed to every pass's visit. */
export interface KeptPath {
  path: ImagePath;
  entry: FileEntry;
  /** Up to the first 512 bytes of a regular file, read once for all passes. */
  head(): Promise<Buffer>;
}

/** What a pass does at each stage of the closure; a stage it has no part in is left out. */
export interface PassHooks {
  /** Once, before the fixpoint: what the trace and the policy name. */
  seed?(): Promise<void> | void;
  /** For each path newly kept, until nothing new is: what that path brings with it. */
  visit?(kept: KeptPath): Promise<void> | void;
  /** Once, when the selection first stops growing; the fixpoint then runs again. */
  sweep?(): Promise<void> | void;
}

/** One rule of the closure. State a rule keeps for one run (caches, what it has done) lives in the hooks it returns. */
export type ClosurePass = (ctx: ClosureContext) => PassHooks;

/** What every pass sees of one run, and how it adds to the selection. */
export interface ClosureContext {
  readonly index: FileIndex;
  readonly content: ContentReader;
  readonly records: Iterable<AccessRecord>;
  readonly policy: ClosurePolicy;
  /** Read-only to passes: they add through keep and keepResolved, which apply --exclude. */
  readonly selection: Pick<Selection, 'has' | 'why'>;
  /** The image config's environment. */
  readonly env: ReadonlyMap<string, string>;
  /** Its PATH, or the runtime's default. */
  readonly pathDirs: readonly string[];
  readonly workdir: string;
  ignored(path: ImagePath): boolean;
  /** Adds one entry of the index, as it is (a symlink is not followed). */
  keep(path: ImagePath, reason: Reason): void;
  /** Adds a path as reached through the index: the symlinks on the way, and what it lands on. */
  keepResolved(path: ImagePath, reason: Reason): FileEntry | undefined;
  warn(message: string): void;
  /** The image's package databases, as given to the closure or else read on first use. */
  packages(): Promise<PackageDatabase>;
  /** Every path the package databases list, as real paths. */
  packaged(): Promise<ReadonlySet<ImagePath>>;
  /** What the result reports besides the selection and the warnings. */
  readonly found: { presets: ClosureResult['presets']; packages: Set<string> };
}

export interface ClosureRun {
  ctx: ClosureContext;
  /** The next path kept and not yet visited, first kept first. */
  next(): KeptPath | undefined;
  result(): ClosureResult;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function startClosure(index: FileIndex, records: Iterable<AccessRecord>, policy: ClosurePolicy, content: ContentReader, packages?: PackageDatabase): ClosureRun {
  const selection = new Selection();
  const warnings: string[] = [];
  const queue: ImagePath[] = [];
  let visited = 0;
  const env = envMap(policy.config.Env ?? []);
  const excluded = policy.exclude?.length ? globMatcher(policy.exclude) : undefined;
  let excludedCount = 0;
  let db: Promise<PackageDatabase> | undefined = packages && Promise.resolve(packages);
  let packaged: Promise<Set<ImagePath>> | undefined;

  const keep = (path: ImagePath, reason: Reason) => {
    if (!index.has(path)) return;
    // A parent is kept whatever --exclude says: what is below it needs it.
    if (excluded && reason.why !== 'parent' && !selection.has(path) && excluded(path)) {
      excludedCount++;
      return;
    }
    if (selection.add(path, reason)) queue.push(path);
  };
  const ctx: ClosureContext = {
    index,
    content,
    records,
    policy,
    selection,
    env,
    pathDirs: (env.get('PATH') ?? DEFAULT_PATH).split(':').filter(Boolean),
    workdir: policy.config.WorkingDir || '/',
    ignored: (p) => isIgnored(p, policy.ignore),
    keep,
    keepResolved(path, reason) {
      const r = index.resolve(path);
      for (const link of r.links) keep(link, { why: 'symlink', from: path });
      if (r.entry) keep(r.real, reason);
      return r.entry;
    },
    warn: (message) => void warnings.push(message),
    packages: () => (db ??= readPackageDatabase(index, content)),
    packaged: () => (packaged ??= ctx.packages().then((d) => packagedPaths(index, d.files))),
    found: { presets: {}, packages: new Set() },
  };
  return {
    ctx,
    next() {
      if (visited === queue.length) return undefined;
      const path = queue[visited++]!;
      const entry = index.get(path)!;
      let head: Promise<Buffer> | undefined;
      return { path, entry, head: () => (head ??= entry.kind === 'file' ? content.read(entry, { start: 0, length: Math.min(entry.size, 512) }) : Promise.resolve(Buffer.alloc(0))) };
    },
    result: () => ({ selection, warnings, presets: ctx.found.presets, packages: [...ctx.found.packages].sort(), excluded: excludedCount }),
  };
}

/** A directory kept on purpose brings everything below it. */
export function keepTree(ctx: ClosureContext, top: ImagePath, reason: Reason): void {
  const stack = [ctx.index.resolve(top).real];
  while (stack.length) {
    for (const child of ctx.index.children(stack.pop()!)) {
      ctx.keep(child.path, reason);
      if (child.kind === 'dir') stack.push(child.path);
      if (child.kind === 'symlink') ctx.keepResolved(child.path, reason);
    }
  }
}

/** Keeps every entry the globs match, a directory with its tree; returns how many matched. */
export function keepMatching(ctx: ClosureContext, globs: readonly string[], reason: Reason): number {
  const match = globMatcher(globs);
  let n = 0;
  for (const e of ctx.index.values()) {
    if (!match(e.path)) continue;
    n++;
    const got = ctx.keepResolved(e.path, reason);
    if (got?.kind === 'dir') keepTree(ctx, e.path, reason);
  }
  return n;
}

/** A program as the runtime finds it: a path with a slash from the working directory, a name in PATH. */
export function findProgram(ctx: ClosureContext, name: string): ImagePath | undefined {
  const candidates = name.includes('/') ? [joinInside(ctx.workdir, name)] : ctx.pathDirs.map((d) => joinInside(d, name));
  return candidates.find((c) => ctx.index.resolve(c).entry?.kind === 'file');
}

function envMap(env: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env) {
    const i = kv.indexOf('=');
    if (i > 0) m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}
