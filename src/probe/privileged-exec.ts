import type { FileIndex } from '../rootfs/file-index.js';
import type { ImagePath } from '../rootfs/entry.js';
import type { AccessRecord } from '../trace/record.js';

/**
 * Files the traced app executed that raise privileges at exec: setuid or setgid bits, or a file
 * capability. strace's seccomp filter needs no_new_privs, under which such an exec does not raise
 * them, so a run that did one may have gone differently from `docker run`.
 */
export function privilegedExecs(index: FileIndex, records: Iterable<AccessRecord>): ImagePath[] {
  const found = new Set<ImagePath>();
  for (const r of records) {
    if (r.op !== 'exec' || !r.ok) continue;
    const res = index.resolve(r.resolved ?? r.path);
    const e = res.entry;
    if (e?.kind !== 'file') continue;
    if ((e.meta.mode & 0o6000) !== 0 || e.meta.xattrs?.['security.capability'] !== undefined) found.add(res.real);
  }
  return [...found].sort();
}
