import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { ancestors, joinInside } from '../rootfs/safe-path.js';
import type { ContentReader } from '../sources/content-spool.js';
import type { AccessRecord } from '../trace/record.js';
import type { ContainerConfig } from '../image/types.js';
import { Selection, type Reason } from './selection.js';
import { readElfInfo, type ElfInfo } from './elf.js';
import { parseLdSoCache, type LdSoCacheEntry } from './ld-so-cache.js';
import { resolveNeeded, type LdResolveContext, type Requester } from './ld-resolve.js';
import { parseShebang } from './shebang.js';
import { PRESETS, type PresetName } from './presets.js';
import { globMatcher, isGlob } from './globs.js';
import { ownersByRealPath, packagedPaths, readPackageFiles } from './packages.js';
import { appEntries } from './app.js';
import { listedEntries } from './listings.js';

export interface ClosurePolicy {
  /** Paths that are never the image's own at run time (kernel filesystems, probe and user mounts). */
  ignore: ImagePath[];
  /** `--include`: paths or globs, kept with everything below them. */
  include: string[];
  /** `--include-bin`: programs (a path, or a name looked up in PATH), kept with their libraries. */
  includeBin?: string[];
  /** `--exclude`: globs never kept, except as the parent directory of something kept. */
  exclude?: string[];
  /** `--keep`: presets of files traces often miss. */
  presets?: PresetName[];
  /** `--keep-packages`: every package (dpkg, apk) that owns a kept file is kept whole. */
  keepPackages?: boolean;
  /**
   * Commands the runtime starts by path lookup: entrypoint + cmd, and the HEALTHCHECK. A trace that
   * sees only resolved paths (fanotify) misses the symlinks on the way to them (/bin/sh -> dash).
   */
  commands: string[][];
  config: ContainerConfig;
  /** Paths the slim image was found to miss when it failed verification (self-repair). */
  repairs?: ImagePath[];
}

export interface ClosureResult {
  selection: Selection;
  /** How many paths each preset added. */
  presets: Partial<Record<PresetName, number>>;
  /** Packages kept whole (--keep-packages), sorted. */
  packages: string[];
  /** Paths --exclude kept out. */
  excluded: number;
  /** Things the closure could not satisfy (a DT_NEEDED library missing from the image, …). */
  warnings: string[];
}

const ALWAYS_IGNORED = ['/proc', '/sys', '/dev', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

export function isIgnored(path: string, ignore: readonly string[]): boolean {
  return [...ALWAYS_IGNORED, ...ignore].some((p) => path === p || path.startsWith(p.endsWith('/') ? p : p + '/'));
}

/**
 * From what the trace saw to what the image must hold: every accessed path plus what a trace
 * cannot see (symlinks on the way, parent directories, ELF interpreters and libraries, script
 * interpreters, the user database), to a fixpoint. Pure over the index and a content reader.
 */
export async function computeClosure(index: FileIndex, records: Iterable<AccessRecord>, policy: ClosurePolicy, content: ContentReader): Promise<ClosureResult> {
  const selection = new Selection();
  const warnings: string[] = [];
  const queue: ImagePath[] = [];
  const env = envMap(policy.config.Env ?? []);
  const pathDirs = (env.get('PATH') ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter(Boolean);
  const workdir = policy.config.WorkingDir || '/';

  const excluded = policy.exclude?.length ? globMatcher(policy.exclude) : undefined;
  let excludedCount = 0;
  const keepEntry = (path: ImagePath, reason: Reason) => {
    if (!index.has(path)) return;
    if (excluded && reason.why !== 'parent' && !selection.has(path) && excluded(path)) {
      excludedCount++;
      return;
    }
    if (selection.add(path, reason)) queue.push(path);
  };
  /** Keep a path as reached through the index: the symlinks on the way, and what it lands on. */
  const keepResolved = (path: ImagePath, reason: Reason): FileEntry | undefined => {
    const r = index.resolve(path);
    for (const link of r.links) keepEntry(link, { why: 'symlink', from: path });
    if (r.entry) keepEntry(r.real, reason);
    return r.entry;
  };

  for (const rec of records) {
    for (const p of rec.resolved && rec.resolved !== rec.path ? [rec.path, rec.resolved] : [rec.path]) {
      if (!p.startsWith('/') || isIgnored(p, policy.ignore)) continue;
      const r = index.resolve(p);
      for (const link of r.links) keepEntry(link, { why: 'symlink', from: p });
      if (r.entry) keepEntry(r.real, { why: 'traced' });
      // The app looked up or created something here that the image lacks: keep the directory as it was.
      else keepEntry(r.lastDir, { why: 'created-in', from: p });
    }
  }

  for (const p of policy.repairs ?? []) keepResolved(p, { why: 'repair' });

  // What a program learns by listing a directory is evidence: it may decide by the names alone and
  // open the files later. Only names no package owns (the app's own files): expanding a runtime's
  // package-owned library directories, which runtimes list all the time, would undo the slimming.
  const ignored = (p: ImagePath) => isIgnored(p, policy.ignore);
  const listed = [...listedEntries(index, records, ignored)];
  const wantsApp = policy.presets?.includes('app') ?? false;
  const packageFiles = policy.keepPackages || listed.length || wantsApp ? await readPackageFiles(index, content) : undefined;
  const packaged = listed.length || wantsApp ? packagedPaths(index, packageFiles!) : undefined;
  for (const { dir, entry } of listed) if (!packaged!.has(entry.path)) keepEntry(entry.path, { why: 'listed', from: dir });

  for (const [argv0] of policy.commands) {
    if (!argv0) continue;
    const candidates = argv0.includes('/') ? [joinInside(workdir, argv0)] : pathDirs.map((d) => joinInside(d, argv0));
    const found = candidates.find((c) => index.resolve(c).entry?.kind === 'file');
    if (found) keepResolved(found, { why: 'entrypoint' });
    else warnings.push(`the command ${argv0} is not a file in the image`);
  }
  if (policy.config.User) {
    for (const f of ['/etc/passwd', '/etc/group']) keepResolved(f, { why: 'user' });
  }
  /** A directory kept on purpose brings everything below it. */
  const keepTree = (top: ImagePath, reason: Reason) => {
    const stack = [index.resolve(top).real];
    while (stack.length) {
      for (const child of index.children(stack.pop()!)) {
        keepEntry(child.path, reason);
        if (child.kind === 'dir') stack.push(child.path);
        if (child.kind === 'symlink') keepResolved(child.path, reason);
      }
    }
  };
  const keepMatching = (globs: readonly string[], reason: Reason): number => {
    const match = globMatcher(globs);
    let n = 0;
    for (const e of index.values()) {
      if (!match(e.path)) continue;
      n++;
      const got = keepResolved(e.path, reason);
      if (got?.kind === 'dir') keepTree(e.path, reason);
    }
    return n;
  };
  for (const inc of policy.include) {
    if (isGlob(inc)) {
      if (keepMatching([inc], { why: 'include', from: inc }) === 0) warnings.push(`--include ${inc} matches nothing in the image`);
      continue;
    }
    const e = keepResolved(inc, { why: 'include' });
    if (!e) warnings.push(`--include ${inc} is not in the image`);
    else if (e.kind === 'dir') keepTree(inc, { why: 'include', from: inc });
  }
  for (const bin of policy.includeBin ?? []) {
    const candidates = bin.includes('/') ? [joinInside(workdir, bin)] : pathDirs.map((d) => joinInside(d, bin));
    const found = candidates.find((c) => index.resolve(c).entry?.kind === 'file');
    if (found) keepResolved(found, { why: 'include', from: `--include-bin ${bin}` });
    else warnings.push(`--include-bin ${bin} is not a program in the image${bin.includes('/') ? '' : ' (looked in PATH)'}`);
  }
  const presets: ClosureResult['presets'] = {};
  for (const name of policy.presets ?? []) {
    if (name === 'app') {
      // Each entry gets the whole closure below: an unowned binary brings its libraries.
      const app = await appEntries(index, content, packaged!, ignored);
      for (const p of app.paths) keepResolved(p, { why: 'keep', from: 'app' });
      presets.app = app.paths.length;
      if (packaged!.size === 0) warnings.push("--keep app: the image has no dpkg or apk database, so every file counts as the app's");
      else if (app.paths.length === 0) warnings.push('--keep app: every file of the image belongs to a package');
      continue;
    }
    presets[name] = keepMatching(PRESETS[name].globs, { why: 'keep', from: name });
    if (presets[name] === 0) warnings.push(`--keep ${name}: the image has none of these files`);
  }

  const ld = new LdContext(index, content, env);
  const owners = policy.keepPackages && packageFiles ? ownersByRealPath(index, packageFiles) : undefined;
  const wholePackages = new Set<string>();
  if (policy.keepPackages && packageFiles!.size === 0) warnings.push('--keep-packages: the image has no dpkg or apk database');
  const elfLoaders = new Map<ImagePath, Requester[]>();
  // Programs reach files through links a trace of resolved paths (fanotify) never names: PATH
  // lookups through /etc/alternatives, /etc/localtime, soname links, conf.d entries pointing into
  // mods-available. Every link in the image that lands on something kept is kept: a few hundred
  // bytes of tar headers each, and the slim image then resolves every name the original did.
  const keepLinksToKept = () => {
    for (const e of index.values()) {
      if (e.kind !== 'symlink' || selection.has(e.path) || ignored(e.path)) continue;
      const r = index.resolve(e.path);
      if (r.entry && !r.loop && selection.has(r.real)) for (const link of r.links) keepEntry(link, { why: 'symlink-to-kept', from: r.real });
    }
  };
  // To a fixpoint; then the links that land on what is kept, and to a fixpoint again.
  for (let linked = false; ; linked = true) {
    while (queue.length > 0) {
      const path = queue.shift()!;
      const entry = index.get(path)!;
      for (const a of ancestors(path)) keepEntry(a, { why: 'parent', from: path });
      for (const pkg of owners?.get(path) ?? []) {
        if (wholePackages.has(pkg)) continue;
        wholePackages.add(pkg);
        for (const p of packageFiles!.get(pkg)!) {
          const r = index.resolve(p, { followLast: false });
          if (r.entry && r.entry.kind !== 'dir') keepResolved(p, { why: 'package', from: pkg });
        }
      }
      if (entry.kind === 'symlink') {
        keepResolved(path, { why: 'symlink', from: path });
        continue;
      }
      if (entry.kind !== 'file') continue;
      // Python uses a cached .pyc only after checking its source's metadata: a trace that cannot
      // see stat (fanotify) never shows the .py, yet without it the import fails.
      const pyc = /^(.*)\/__pycache__\/([^/]+?)\.[^./]+(?:\.opt-\d)?\.pyc$/.exec(path);
      if (pyc) keepResolved(`${pyc[1]}/${pyc[2]}.py`, { why: 'pyc-source', from: path });
      // Python finds its prefix by stat'ing the landmark lib/pythonX.Y/os.py (os itself is frozen).
      const stdlib = /^(.*\/lib\/python3\.\d+)\//.exec(path);
      if (stdlib) keepResolved(`${stdlib[1]}/os.py`, { why: 'python-landmark', from: path });
      if (entry.size < 4) continue;
      const head = await content.read(entry, { start: 0, length: Math.min(entry.size, 512) });
      if (head.subarray(0, 4).equals(ELF_MAGIC)) {
        const info = await ld.elf(entry);
        if (!info) continue;
        if (info.interp) {
          if (!keepResolved(info.interp, { why: 'elf-interp', from: path })) warnings.push(`${path}: ELF interpreter ${info.interp} is not in the image`);
        }
        const self: Requester = { path, rpath: info.rpath, runpath: info.runpath };
        const loaders = elfLoaders.get(path) ?? [];
        for (const soname of info.needed) {
          const found = await resolveNeeded(soname, self, loaders, await ld.context(info));
          if (!found) {
            warnings.push(`${path} needs ${soname}, which the image does not have`);
            continue;
          }
          const lib = index.resolve(found.path).real;
          if (!elfLoaders.has(lib)) elfLoaders.set(lib, [...loaders, self]);
          keepResolved(found.path, { why: 'elf-needed', from: path });
        }
      } else if (head[0] === 0x23 && head[1] === 0x21) {
        const sb = parseShebang(head);
        if (!sb) continue;
        keepResolved(sb.interpreter, { why: 'shebang', from: path });
        // `#!/usr/bin/env python3`: env looks the program up in PATH at run time.
        if (/(^|\/)env$/.test(sb.interpreter) && sb.arg && !sb.arg.startsWith('-')) {
          const prog = sb.arg.split(/\s+/)[0]!;
          const hit = pathDirs.map((d) => joinInside(d, prog)).find((c) => index.resolve(c).entry?.kind === 'file');
          if (hit) keepResolved(hit, { why: 'shebang', from: path });
        }
      }
    }
    if (linked) break;
    keepLinksToKept();
  }
  return { selection, warnings, presets, packages: [...wholePackages].sort(), excluded: excludedCount };
}

/** AT_PLATFORM and the Debian multiarch triplet, by e_machine. */
const PLATFORM: Partial<Record<number, string>> = { 3: 'i686', 62: 'x86_64', 183: 'aarch64', 40: 'v7l' };
const MULTIARCH: Partial<Record<number, string>> = { 3: 'i386-linux-gnu', 62: 'x86_64-linux-gnu', 183: 'aarch64-linux-gnu', 40: 'arm-linux-gnueabihf' };

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Reads ELF headers and the image's ld.so.cache once each. */
class LdContext {
  private cache: LdSoCacheEntry[] | undefined;
  private readonly infos = new Map<number, ElfInfo | undefined>();
  private readonly muslPaths = new Map<string, string[] | undefined>();

  constructor(private readonly index: FileIndex, private readonly content: ContentReader, private readonly env: Map<string, string>) {}

  async elf(entry: FileEntry & { kind: 'file' }): Promise<ElfInfo | undefined> {
    if (this.infos.has(entry.inode)) return this.infos.get(entry.inode);
    let info: ElfInfo | undefined;
    try {
      info = await readElfInfo((offset, length) => this.content.read(entry, { start: offset, length }), entry.size);
    } catch {
      info = undefined; // a corrupt ELF is kept as a plain file; nothing to follow
    }
    this.infos.set(entry.inode, info);
    return info;
  }

  async context(info: ElfInfo): Promise<LdResolveContext> {
    const musl = /ld-musl-/.test(info.interp ?? '');
    return {
      candidate: async (p) => {
        const e = this.index.resolve(p).entry;
        if (!e || e.kind !== 'file') return { ok: false, reason: 'missing' };
        const other = await this.elf(e);
        if (!other || other.class !== info.class || other.machine !== info.machine) return { ok: false, reason: 'incompatible' };
        return { ok: true };
      },
      cache: musl ? [] : await this.ldCache(),
      ldLibraryPath: (this.env.get('LD_LIBRARY_PATH') ?? '').split(':').filter(Boolean),
      platform: { class: info.class, machine: info.machine, lib: this.libDir(info), platform: PLATFORM[info.machine] ?? 'i686' },
      flavour: musl ? 'musl' : 'glibc',
      ...(musl ? { muslPath: await this.muslPath(info.interp!) } : {}),
    } as LdResolveContext;
  }

  /** glibc's $LIB: the multiarch directory on Debian and its derivatives, else lib64 or lib. */
  private libDir(info: ElfInfo): string {
    const triplet = MULTIARCH[info.machine];
    if (triplet && ['/lib', '/usr/lib'].some((d) => this.index.resolve(`${d}/${triplet}`).entry?.kind === 'dir')) return `lib/${triplet}`;
    return info.class === 64 ? 'lib64' : 'lib';
  }

  private async ldCache(): Promise<LdSoCacheEntry[]> {
    if (this.cache) return this.cache;
    const e = this.index.resolve('/etc/ld.so.cache').entry;
    this.cache = [];
    if (e?.kind === 'file') {
      try {
        this.cache = parseLdSoCache(await this.content.read(e));
      } catch {
        this.cache = [];
      }
    }
    return this.cache;
  }

  private async muslPath(interp: string): Promise<string[] | undefined> {
    const arch = /ld-musl-([^.]+)\.so/.exec(interp)?.[1] ?? 'x86_64';
    if (this.muslPaths.has(arch)) return this.muslPaths.get(arch);
    const e = this.index.resolve(`/etc/ld-musl-${arch}.path`).entry;
    const dirs = e?.kind === 'file' ? (await this.content.read(e)).toString('latin1').split(/[:\n]/).filter(Boolean) : undefined;
    this.muslPaths.set(arch, dirs);
    return dirs;
  }
}

function envMap(env: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env) {
    const i = kv.indexOf('=');
    if (i > 0) m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

