import type { FileEntry } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from '../sources/content-spool.js';
import { readElfInfo, type ElfInfo } from './elf.js';
import { parseLdSoCache, type LdSoCacheEntry } from './ld-so-cache.js';
import type { LdResolveContext } from './ld-resolve.js';

/** AT_PLATFORM and the Debian multiarch triplet, by e_machine. */
const PLATFORM: Partial<Record<number, string>> = { 3: 'i686', 62: 'x86_64', 183: 'aarch64', 40: 'v7l' };
const MULTIARCH: Partial<Record<number, string>> = { 3: 'i386-linux-gnu', 62: 'x86_64-linux-gnu', 183: 'aarch64-linux-gnu', 40: 'arm-linux-gnueabihf' };

/** Reads ELF headers and the image's ld.so.cache once each. */
export class LdContext {
  private cache: LdSoCacheEntry[] | undefined;
  private readonly infos = new Map<number, ElfInfo | undefined>();
  private readonly muslPaths = new Map<string, string[] | undefined>();

  constructor(private readonly index: FileIndex, private readonly content: ContentReader, private readonly env: ReadonlyMap<string, string>) {}

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
