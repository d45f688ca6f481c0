/**
 * Resolve a DT_NEEDED name the way the image's dynamic loader would, over an abstract filesystem.
 *
 * glibc (elf/dl-load.c _dl_map_object, checked against LD_DEBUG=libs on Debian 12):
 *   1. a name containing '/' is opened as is (after $ORIGIN/$LIB/$PLATFORM expansion), no search;
 *   2. DT_RPATH of the requester, then of each loader up the chain, only if the requester has no
 *      DT_RUNPATH (and an object that has DT_RUNPATH contributes no DT_RPATH of its own);
 *   3. LD_LIBRARY_PATH (':' and ';' separate; DSTs expand against the executable);
 *   4. DT_RUNPATH of the requester only;
 *   5. /etc/ld.so.cache, entries of the requester's class and machine;
 *   6. the system directories.
 *   A candidate of the wrong class or machine is skipped and the search goes on.
 * musl (ldso/dynlink.c load_library): LD_LIBRARY_PATH (no DSTs), then the RUNPATH-or-RPATH of the
 *   requester and each loader up the chain (only $ORIGIN; any other '$' drops that object's path),
 *   then /etc/ld-musl-ARCH.path or /lib:/usr/local/lib:/usr/lib. musl opens the first file that
 *   exists and does not look further if it is not a loadable ELF: loading then fails.
 * Relative directories (and glibc's empty path elements) are relative to the process's working
 * directory, which is taken to be '/'.
 *
 * The differences between the two loaders are the data in RULES; resolveNeeded only interprets it.
 */
import { lookupCache, type LdSoCacheEntry } from './ld-so-cache.js';

export interface LdResolveContext {
  /** Does this absolute path exist as a file (after symlinks) in the image, and is it an ELF of the requester's class/machine? */
  candidate(path: string): Promise<{ ok: true } | { ok: false; reason: 'missing' | 'incompatible' }>;
  /** The image's parsed /etc/ld.so.cache, or [] if none. */
  cache: LdSoCacheEntry[];
  /** The image's LD_LIBRARY_PATH, split on ':'. */
  ldLibraryPath: string[];
  /**
   * `lib` is what glibc's $LIB expands to. Typically 'lib' or 'lib64', but Debian's glibc
   * expands it to the multiarch directory ('lib/x86_64-linux-gnu'), so any string is accepted.
   * `platform` is $PLATFORM (AT_PLATFORM: 'x86_64', 'i686', 'aarch64', ...).
   */
  platform: { class: 32 | 64; machine: number; lib: 'lib' | 'lib64' | (string & {}); platform: string };
  /** Decided by the caller from PT_INTERP (ld-musl-* => musl). */
  flavour: 'glibc' | 'musl';
  /** Directories of /etc/ld-musl-ARCH.path, if that file exists ([] if it exists but is empty: musl then has no default path). */
  muslPath?: string[];
}

/** An object asking for libraries: its path (for $ORIGIN) and its DT_RPATH/DT_RUNPATH as ElfInfo gives them. */
export interface Requester {
  path: string;
  rpath: string[];
  runpath: string[];
}

export type Via = 'direct' | 'rpath' | 'ld_library_path' | 'runpath' | 'cache' | 'default';
export interface Resolved {
  path: string;
  via: Via;
}

type Step = 'chain' | 'ld_library_path' | 'runpath' | 'cache' | 'default';
type Vars = Record<'ORIGIN' | 'LIB' | 'PLATFORM', string>;

interface LoaderRules {
  /** The search, in order. 'chain' is each object's own path, from the requester up its loaders. */
  order: readonly Step[];
  /** The 'chain' step is skipped entirely when the requester has DT_RUNPATH. */
  chainOnlyWithoutRunpath: boolean;
  /** An object's own search path at the 'chain' step, or undefined if it contributes none. */
  ownPath(o: Requester): { via: 'rpath' | 'runpath'; dirs: string[] } | undefined;
  /** Expand $ORIGIN & co. in one object's path list; undefined drops the whole list. */
  expand(dirs: string[], vars: Vars): string[] | undefined;
  /** Dynamic string tokens in a name containing '/' and in LD_LIBRARY_PATH. */
  expandDirectName: boolean;
  expandLdLibraryPath: boolean;
  /** How the loader splits LD_LIBRARY_PATH (the caller has split on ':' already). */
  ldLibraryPathSeparators: RegExp;
  /** An empty path element: the working directory (glibc) or nothing (musl). */
  emptyElementIsCwd: boolean;
  /** A candidate that exists but is not a compatible ELF: look further (glibc) or stop, failing (musl). */
  onIncompatible: 'skip' | 'fail';
  defaultDirs(ctx: LdResolveContext): string[];
}

const GLIBC_DST = /\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g;
const MUSL_ORIGIN = /\$\{ORIGIN\}|\$ORIGIN/g;

const RULES: Record<LdResolveContext['flavour'], LoaderRules> = {
  glibc: {
    order: ['chain', 'ld_library_path', 'runpath', 'cache', 'default'],
    chainOnlyWithoutRunpath: true,
    // elf_get_dynamic_info drops DT_RPATH of any object that has DT_RUNPATH.
    ownPath: (o) => (o.runpath.length > 0 || o.rpath.length === 0 ? undefined : { via: 'rpath', dirs: o.rpath }),
    // An empty path as a whole is ignored (decompose_rpath); an empty element in it is the cwd.
    // Known tokens, braced or ended by a character that cannot continue a name; others stay literal.
    expand: (dirs, vars) => (dirs.join(':') === '' ? [] : dirs).map((d) => d.replace(GLIBC_DST, (_m, braced: string | undefined, bare: string | undefined) => vars[(braced ?? bare) as keyof Vars])),
    expandDirectName: true,
    expandLdLibraryPath: true,
    ldLibraryPathSeparators: /[:;]/,
    emptyElementIsCwd: true,
    onIncompatible: 'skip',
    defaultDirs: (ctx) => {
      const { class: cls, machine } = ctx.platform;
      // Debian: multiarch, then /lib:/usr/lib ("ld.so --help" on Debian 12). Fedora & co.: /lib64:/usr/lib64.
      const multiarch = (MULTIARCH[`${machine}/${cls}`] ?? []).flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`]);
      return [...multiarch, ...(cls === 64 ? ['/lib64', '/usr/lib64'] : []), '/lib', '/usr/lib'];
    },
  },
  musl: {
    order: ['ld_library_path', 'chain', 'default'],
    chainOnlyWithoutRunpath: false,
    // decode_dyn: DT_RUNPATH, when present, replaces DT_RPATH.
    ownPath: (o) => (o.runpath.length > 0 ? { via: 'runpath', dirs: o.runpath } : o.rpath.length > 0 ? { via: 'rpath', dirs: o.rpath } : undefined),
    // fixup_rpath: only $ORIGIN / ${ORIGIN}; any other '$' and the object has no search path.
    expand: (dirs, vars) => (/\$(?!\{ORIGIN\}|ORIGIN)/.test(dirs.join(':')) ? undefined : dirs.map((d) => d.replace(MUSL_ORIGIN, vars.ORIGIN))),
    expandDirectName: false,
    expandLdLibraryPath: false,
    ldLibraryPathSeparators: /[:\n]/,
    emptyElementIsCwd: false,
    onIncompatible: 'fail',
    defaultDirs: (ctx) => ctx.muslPath ?? ['/lib', '/usr/local/lib', '/usr/lib'],
  },
};

/** Debian multiarch triplets by "e_machine/class" (ambiguous ones list every Debian port). */
const MULTIARCH: Record<string, readonly string[]> = {
  '62/64': ['x86_64-linux-gnu'],
  '62/32': ['x86_64-linux-gnux32'],
  '3/32': ['i386-linux-gnu'],
  '183/64': ['aarch64-linux-gnu'],
  '40/32': ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
  '21/64': ['powerpc64le-linux-gnu', 'powerpc64-linux-gnu'],
  '20/32': ['powerpc-linux-gnu'],
  '22/64': ['s390x-linux-gnu'],
  '243/64': ['riscv64-linux-gnu'],
  '258/64': ['loongarch64-linux-gnu'],
  '8/32': ['mipsel-linux-gnu', 'mips-linux-gnu'],
  '8/64': ['mips64el-linux-gnuabi64', 'mips64-linux-gnuabi64'],
};

/**
 * Resolve `soname` for `requester` as its dynamic loader would.
 * `loaders` is the chain that loaded the requester, from the executable (first) to the object
 * that needed the requester (last); [] when the requester is the executable. It is walked from
 * last to first. Returns undefined when the loader would fail to find a loadable library.
 */
export async function resolveNeeded(soname: string, requester: Requester, loaders: Requester[], ctx: LdResolveContext): Promise<Resolved | undefined> {
  const rules = RULES[ctx.flavour];
  const vars = (o: Requester): Vars => ({ ORIGIN: dirname(o.path), LIB: ctx.platform.lib, PLATFORM: ctx.platform.platform });

  if (soname.includes('/')) {
    const name = rules.expandDirectName ? (rules.expand([soname], vars(requester))?.[0] ?? soname) : soname;
    const path = normalize(name);
    return (await ctx.candidate(path)).ok ? { path, via: 'direct' } : undefined;
  }

  const tried = new Set<string>();
  /** 'found' / 'next' / 'fail' for one candidate file. */
  const attempt = async (path: string): Promise<'found' | 'next' | 'fail'> => {
    if (tried.has(path)) return 'next';
    tried.add(path);
    const r = await ctx.candidate(path);
    if (r.ok) return 'found';
    return r.reason === 'incompatible' && rules.onIncompatible === 'fail' ? 'fail' : 'next';
  };
  const inDirs = async (dirs: string[], via: Via): Promise<Resolved | 'fail' | undefined> => {
    for (const dir of dirs) {
      if (dir === '' && !rules.emptyElementIsCwd) continue;
      const path = normalize(`${dir}/${soname}`);
      const r = await attempt(path);
      if (r === 'found') return { path, via };
      if (r === 'fail') return 'fail';
    }
    return undefined;
  };

  for (const step of rules.order) {
    let r: Resolved | 'fail' | undefined;
    switch (step) {
      case 'chain': {
        if (rules.chainOnlyWithoutRunpath && requester.runpath.length > 0) break;
        for (const o of [requester, ...[...loaders].reverse()]) {
          const own = rules.ownPath(o);
          const dirs = own && rules.expand(own.dirs, vars(o));
          if (!own || !dirs) continue;
          r = await inDirs(dirs, own.via);
          if (r) break;
        }
        break;
      }
      case 'ld_library_path': {
        const dirs = ctx.ldLibraryPath.flatMap((d) => d.split(rules.ldLibraryPathSeparators));
        const executable = loaders[0] ?? requester;
        r = await inDirs(rules.expandLdLibraryPath ? rules.expand(dirs, vars(executable)) ?? [] : dirs, 'ld_library_path');
        break;
      }
      case 'runpath':
        r = await inDirs(rules.expand(requester.runpath, vars(requester)) ?? [], 'runpath');
        break;
      case 'cache': {
        const path = lookupCache(ctx.cache, soname, ctx.platform);
        if (path === undefined) break;
        const a = await attempt(normalize(path));
        r = a === 'found' ? { path: normalize(path), via: 'cache' } : a === 'fail' ? 'fail' : undefined;
        break;
      }
      case 'default':
        r = await inDirs(rules.defaultDirs(ctx), 'default');
        break;
    }
    if (r === 'fail') return undefined;
    if (r) return r;
  }
  return undefined;
}

/** The directory of an object, for $ORIGIN. */
function dirname(path: string): string {
  const abs = normalize(path);
  const i = abs.lastIndexOf('/');
  return i <= 0 ? '/' : abs.slice(0, i);
}

/**
 * Absolute (relative to the working directory '/'), with repeated slashes and '.' segments
 * removed. '..' is kept: what it means depends on symlinks, which the candidate callback resolves.
 */
function normalize(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}
