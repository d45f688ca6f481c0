import { lookupCache, type LdSoCacheEntry } from './ld-so-cache.js';

export interface LdResolveContext {
  /** Is this path a file (after symlinks) in the image, and an ELF of the requester's class and machine? */
  candidate(path: string): Promise<{ ok: true } | { ok: false; reason: 'missing' | 'incompatible' }>;
  cache: LdSoCacheEntry[];
  ldLibraryPath: string[];
  platform: { class: 32 | 64; machine: number; lib: 'lib' | 'lib64'; platform: string };
  flavour: 'glibc' | 'musl';
  muslPath?: string[];
}

/** The object asking for a library: its path and search paths. */
export interface Requester {
  path: string;
  rpath: string[];
  runpath: string[];
}

export type Via = 'direct' | 'rpath' | 'ld_library_path' | 'runpath' | 'cache' | 'default';

type Step = (soname: string, req: Requester, loaders: Requester[], ctx: LdResolveContext) => { via: Via; dirs: string[] } | { via: 'cache'; path?: string };

const MULTIARCH: Record<number, string> = { 62: 'x86_64-linux-gnu', 183: 'aarch64-linux-gnu', 3: 'i386-linux-gnu' };

/** The search order of each loader, as data (glibc: elf/dl-load.c _dl_map_object; musl: ldso/dynlink.c). */
const ORDER: Record<LdResolveContext['flavour'], Step[]> = {
  glibc: [
    // DT_RPATH of the requester and its loaders counts only when the requester has no DT_RUNPATH.
    (_s, req, loaders) => ({ via: 'rpath', dirs: req.runpath.length ? [] : [req, ...[...loaders].reverse()].flatMap((o) => expand(o.rpath, o.path)) }),
    (_s, _r, _l, ctx) => ({ via: 'ld_library_path', dirs: ctx.ldLibraryPath }),
    (_s, req) => ({ via: 'runpath', dirs: expand(req.runpath, req.path) }),
    (s, _r, _l, ctx) => ({ via: 'cache', ...withPath(lookupCache(ctx.cache, s, ctx.platform.machine)) }),
    (_s, _r, _l, ctx) => ({ via: 'default', dirs: defaultDirs(ctx) }),
  ],
  musl: [
    (_s, _r, _l, ctx) => ({ via: 'ld_library_path', dirs: ctx.ldLibraryPath }),
    (_s, req) => ({ via: 'rpath', dirs: expand([...req.rpath, ...req.runpath], req.path) }),
    (_s, _r, _l, ctx) => ({ via: 'default', dirs: ctx.muslPath ?? ['/lib', '/usr/local/lib', '/usr/lib'] }),
  ],
};

function withPath(p: string | undefined): { path?: string } {
  return p ? { path: p } : {};
}

function defaultDirs(ctx: LdResolveContext): string[] {
  const ma = MULTIARCH[ctx.platform.machine];
  const multi = ma ? [`/lib/${ma}`, `/usr/lib/${ma}`] : [];
  return [...multi, `/${ctx.platform.lib}`, `/usr/${ctx.platform.lib}`, ...(ctx.platform.lib === 'lib64' ? [] : [])];
}

function expand(dirs: string[], objectPath: string): string[] {
  const origin = objectPath.slice(0, objectPath.lastIndexOf('/')) || '/';
  return dirs.map((d) => d.replace(/\$\{?ORIGIN\}?/g, origin));
}

function platformExpand(dir: string, ctx: LdResolveContext): string {
  return dir.replace(/\$\{?LIB\}?/g, ctx.platform.lib).replace(/\$\{?PLATFORM\}?/g, ctx.platform.platform);
}

/** Resolve a DT_NEEDED name as the dynamic loader would, over the image (through `ctx.candidate`). */
export async function resolveNeeded(soname: string, requester: Requester, loaders: Requester[], ctx: LdResolveContext): Promise<{ path: string; via: Via } | undefined> {
  if (soname.includes('/')) {
    const path = soname.startsWith('/') ? soname : '/' + soname;
    return (await ctx.candidate(path)).ok ? { path, via: 'direct' } : undefined;
  }
  for (const step of ORDER[ctx.flavour]) {
    const r = step(soname, requester, loaders, ctx);
    if ('path' in r || !('dirs' in r)) {
      if ('path' in r && r.path && (await ctx.candidate(r.path)).ok) return { path: r.path, via: 'cache' };
      continue;
    }
    for (const dir of r.dirs) {
      const d = platformExpand(dir, ctx);
      if (!d.startsWith('/')) continue; // relative search dirs depend on the cwd at run time: ld.so uses them, we cannot
      const path = `${d.replace(/\/+$/, '')}/${soname}`;
      if ((await ctx.candidate(path)).ok) return { path, via: r.via };
    }
  }
  return undefined;
}
