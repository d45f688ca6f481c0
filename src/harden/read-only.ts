import type { ImagePath } from '../rootfs/entry.js';
import { parentOf } from '../rootfs/safe-path.js';
import type { AccessRecord } from '../trace/record.js';
import { isIgnored } from '../closure/closure.js';

/**
 * Where the app wrote during the probe, as the few directories a read-only root needs tmpfs
 * mounts for: the directory of each file created or written, nested ones folded into the
 * outermost. The root itself cannot be a tmpfs and is left out.
 */
export function suggestTmpfs(records: Iterable<AccessRecord>, ignore: readonly string[]): ImagePath[] {
  const dirs = new Set<ImagePath>();
  for (const r of records) {
    if (!r.ok || (r.op !== 'create' && r.op !== 'write')) continue;
    if (!r.path.startsWith('/') || isIgnored(r.path, ignore)) continue;
    const dir = parentOf(r.path);
    if (dir !== '/') dirs.add(dir);
  }
  const sorted = [...dirs].sort();
  return sorted.filter((d) => !sorted.some((o) => o !== d && d.startsWith(o + '/')));
}
