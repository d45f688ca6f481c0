import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { AccessRecord } from '../trace/record.js';
import { isIgnored } from './policy.js';
import { listedEntries } from './listings.js';

/**
 * Paths a run looked for that the original image has and the slim image lacks: what a failed
 * lookup (ENOENT, a failed exec or dlopen) in the slim image, or any access in the original,
 * shows the closure missed. Paths as the program asked for them, sorted.
 */
export function missingPaths(index: FileIndex, records: Iterable<AccessRecord>, kept: { has(p: ImagePath): boolean }, ignore: readonly string[]): ImagePath[] {
  const found = new Set<ImagePath>();
  for (const rec of records) {
    for (const p of rec.resolved && rec.resolved !== rec.path ? [rec.path, rec.resolved] : [rec.path]) {
      if (!p.startsWith('/') || isIgnored(p, ignore)) continue;
      const r = index.resolve(p);
      if (!r.entry) continue;
      if (!kept.has(r.real) || r.links.some((l) => !kept.has(l))) found.add(p);
    }
  }
  return [...found].sort();
}

/**
 * The entries of directories a run listed that the slim image lacks: the last evidence there is
 * for a program that decides by the names it reads from a directory, whose failure names no file.
 */
export function missingListedEntries(index: FileIndex, records: Iterable<AccessRecord>, kept: { has(p: ImagePath): boolean }, ignore: readonly string[]): ImagePath[] {
  const found = new Set<ImagePath>();
  for (const { entry } of listedEntries(index, records, (p) => isIgnored(p, ignore))) if (!kept.has(entry.path)) found.add(entry.path);
  return [...found].sort();
}
