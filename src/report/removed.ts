import type { ImagePath } from '../rootfs/entry.js';
import { displayPath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';

export interface RemovedDir {
  path: string;
  bytes: number;
  files: number;
}

/**
 * The directories, `depth` levels down from the root at most, that lost the most bytes: where the
 * weight of the original was. A file counts once however many hard links it has.
 */
export function largestRemoved(index: FileIndex, kept: { has(p: ImagePath): boolean }, opts: { depth?: number; top?: number } = {}): RemovedDir[] {
  const depth = opts.depth ?? 3;
  const totals = new Map<ImagePath, { bytes: number; files: number }>();
  const counted = new Set<number>();
  const keptInodes = new Set<number>();
  for (const e of index.values()) if (e.kind === 'file' && kept.has(e.path)) keptInodes.add(e.inode);
  for (const e of index.values()) {
    if (e.kind !== 'file' || kept.has(e.path) || keptInodes.has(e.inode) || counted.has(e.inode)) continue;
    counted.add(e.inode);
    const parts = e.path.split('/').slice(1, -1);
    const dir = '/' + parts.slice(0, depth).join('/');
    const t = totals.get(dir) ?? { bytes: 0, files: 0 };
    t.bytes += e.size;
    t.files++;
    totals.set(dir, t);
  }
  return [...totals]
    .sort((a, b) => b[1].bytes - a[1].bytes || (a[0] < b[0] ? -1 : 1))
    .slice(0, opts.top ?? 10)
    .map(([p, t]) => ({ path: displayPath(p), ...t }));
}
