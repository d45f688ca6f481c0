import { posix } from 'node:path';
import type { FileIndex } from '../../rootfs/file-index.js';
import type { AccessRecord } from '../../trace/record.js';
import type { PackageDatabase } from '../../packages/types.js';
import { debianBase, helperImage, ownerOf, type HelperImage } from '../helper-image.js';

/** ICU's data library in an image: the one file `--rebuild icu` replaces. */
export interface IcuData {
  /** The real path, e.g. /usr/lib/x86_64-linux-gnu/libicudata.so.72.1. */
  path: string;
  size: number;
  /** 72: the symbol is icudt72_dat, the package icudt72l. */
  major: string;
}

/** Every `libicudata.so.N[.M…]` regular file in the image. */
export function findIcuData(index: FileIndex): IcuData[] {
  const found: IcuData[] = [];
  for (const e of index.values()) {
    const m = /^libicudata\.so\.(\d+)(?:\.\d+)*$/.exec(posix.basename(e.path));
    if (e.kind === 'file' && m) found.push({ path: e.path, size: e.size, major: m[1]! });
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The ICU data package's name inside the library: `icudt72l` (little-endian, as on x86-64 and arm64). */
export const packageName = (major: string): string => `icudt${major}l`;

export type IcuSource = ({ kind: 'helper' } & HelperImage) | { kind: 'none'; reason: string };

/** A helper with ICU's tools (icupkg, genccode) of exactly the image's libicu version, and a C toolchain to link the library. */
export function icuSourceFor(lib: IcuData, db: PackageDatabase): IcuSource {
  const owner = ownerOf(db, lib.path);
  if ('reason' in owner) return { kind: 'none', reason: owner.reason };
  if (!/^libicu\d+$/.test(owner.name)) return { kind: 'none', reason: `${lib.path} comes from ${owner.name}, not a Debian libicu package slim knows the tools of` };
  const debian = debianBase(db);
  if ('reason' in debian) return { kind: 'none', reason: debian.reason };
  return { kind: 'helper', ...helperImage(debian.base, [`icu-devtools=${owner.version}`, `libicu-dev=${owner.version}`, 'gcc', 'libc6-dev', 'binutils'], 'icu') };
}

/** `nm -D -S`: the data symbol's address and size (`0000000000002000 0000000001dcde00 R icudt72_dat`). */
export function dataSymbol(nmOutput: string, major: string): { address: number; size: number } | undefined {
  for (const line of nmOutput.split('\n')) {
    const m = /^([0-9a-f]+)\s+([0-9a-f]+)\s+\S\s+(\S+)$/.exec(line.trim());
    if (m && m[3] === `icudt${major}_dat`) return { address: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16) };
  }
  return undefined;
}

/** `readelf -SW`: the file offset of an address, from the section that holds it. */
export function fileOffsetOf(readelfSections: string, address: number): number | undefined {
  for (const line of readelfSections.split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+([0-9a-f]{8,})\s+([0-9a-f]+)\s+([0-9a-f]+)\s/.exec(line);
    if (!m || m[1] === 'NULL') continue;
    const [addr, off, size] = [parseInt(m[2]!, 16), parseInt(m[3]!, 16), parseInt(m[4]!, 16)];
    if (addr !== 0 && address >= addr && address < addr + size) return address - addr + off;
  }
  return undefined;
}

/** `readelf -d`: `0x…e (SONAME)  Library soname: [libicudata.so.72]`. */
export function sonameOf(readelfDynamic: string): string | undefined {
  return /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(readelfDynamic)?.[1];
}

/** `icupkg -l`: one item a line (`coll/sv.res`). */
export function parseItemList(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter((l) => /^[\w./-]+\.\w+$/.test(l)).sort();
}

/**
 * Items ICU reads for itself and slim's checks rely on, kept whatever the trace says: the data's
 * version (icuver.res), the indexes and the root of the main and collation trees, the shared
 * string pool, and the CLDR supplemental data every locale lookup consults.
 */
export const BASE_ITEMS = ['icuver.res', 'res_index.res', 'pool.res', 'root.res', 'supplementalData.res', 'likelySubtags.res', 'metadata.res', 'coll/res_index.res', 'coll/root.res', 'coll/ucadata.icu'] as const;

/** The items a traced run opened under `dir` (ICU_DATA's package directory) that the package holds. */
export function openedItems(records: Iterable<AccessRecord>, dir: string, all: ReadonlySet<string>): Set<string> {
  const used = new Set<string>();
  for (const r of records) {
    if (!r.ok || !r.path.startsWith(`${dir}/`)) continue;
    const item = r.path.slice(dir.length + 1);
    if (all.has(item)) used.add(item);
  }
  return used;
}

/** Items of the package that a run looked for under `dir`, found no file for, and the kept set lacks. */
export function missedItems(records: Iterable<AccessRecord>, dir: string, all: ReadonlySet<string>, kept: ReadonlySet<string>): string[] {
  const missed = new Set<string>();
  for (const r of records) {
    if (r.ok || !r.path.startsWith(`${dir}/`)) continue;
    const item = r.path.slice(dir.length + 1);
    if (all.has(item) && !kept.has(item)) missed.add(item);
  }
  return [...missed].sort();
}

/**
 * The locales the kept items hold data for, by kind: collations (`coll/sv.res`) and the main
 * tree (`de_DE.res`: names, dates, numbers). The checker's lines are compared for these only: a
 * locale whose collation the app never loaded may fall back differently, and nothing uses it.
 */
export function localesOf(items: Iterable<string>): { collations: string[]; data: string[] } {
  const collations = new Set<string>();
  const data = new Set<string>();
  for (const item of items) {
    const m = /^(coll\/)?([a-z]{2,3}(?:_[A-Za-z0-9]+)*)\.res$/.exec(item);
    if (!m || ['root', 'pool', 'res_index'].includes(m[2]!)) continue;
    (m[1] ? collations : data).add(m[2]!);
  }
  return { collations: [...collations].sort(), data: [...data].sort() };
}

/** The checker's lines about what the kept items hold: the version line, collator lines of collation locales, date lines of data locales. */
export function checkedLines(output: string, locales: { collations: readonly string[]; data: readonly string[] }): string {
  const coll = new Set(locales.collations);
  const data = new Set(locales.data);
  return output
    .split('\n')
    .filter((l) => {
      const [kind, loc] = l.split(' ');
      return kind === 'icu' || (kind === 'collator' && coll.has(loc!)) || (kind === 'dates' && data.has(loc!));
    })
    .join('\n');
}
