import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { AccessRecord } from '../trace/record.js';

/**
 * Every entry of every directory a trace shows listed (`list`: getdents), with the directory as
 * the image resolves it: what a program learnt by names alone. Ignored paths (kernel filesystems,
 * mounts) are neither directories nor entries here.
 */
export function* listedEntries(index: FileIndex, records: Iterable<AccessRecord>, ignored: (p: ImagePath) => boolean): Generator<{ dir: ImagePath; entry: FileEntry }> {
  const seen = new Set<ImagePath>();
  for (const rec of records) {
    const p = rec.resolved ?? rec.path;
    if (rec.op !== 'list' || !rec.ok || !p.startsWith('/') || ignored(p)) continue;
    const dir = index.resolve(p);
    if (dir.entry?.kind !== 'dir' || seen.has(dir.real)) continue;
    seen.add(dir.real);
    for (const entry of index.children(dir.real)) if (!ignored(entry.path)) yield { dir: dir.real, entry };
  }
}
