import type { FileEntry, ImagePath } from '../rootfs/entry.js';
import { compareBytes, type FileIndex } from '../rootfs/file-index.js';
import type { Selection } from '../closure/selection.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/types.js';

export interface PlanEntry {
  entry: FileEntry;
  /** Set when an earlier entry of the plan shares this file's inode: written as a hard link to it. */
  linkTo?: ImagePath;
}

export interface Provenance {
  sourceName: string;
  sourceDigest: string;
  slimVersion: string;
  probe: string;
}

export interface PackPlan {
  entries: PlanEntry[];
  /** The new config without its rootfs (filled in once the layer is written). */
  config: Omit<ImageConfig, 'rootfs'>;
  annotations: Record<string, string>;
}

export const LABEL_PREFIX = 'io.slim';

/**
 * What the one layer holds and what the config says, decided before any byte is written.
 * Entries keep their original metadata: mtimes included, since Python checks a .pyc against its
 * source's mtime and a "normalised" mtime would make every cached bytecode stale.
 */
export function planPack(index: FileIndex, selection: Selection, source: ImageConfig, opts: { epoch?: number; provenance: Provenance; harden?: { stripSetid: boolean; user?: string } }): PackPlan {
  const entries: PlanEntry[] = [];
  const firstOfInode = new Map<number, ImagePath>();
  const selected = selection
    .paths()
    .map((p) => index.get(p))
    .filter((e): e is FileEntry => e !== undefined && e.path !== '/')
    .sort((a, b) => compareBytes(a.path, b.path));
  for (const original of selected) {
    // --harden: no setuid or setgid program in the slim image.
    const entry = opts.harden?.stripSetid && original.kind === 'file' && original.meta.mode & 0o6000 ? { ...original, meta: { ...original.meta, mode: original.meta.mode & ~0o6000 } } : original;
    if (entry.kind === 'file') {
      const first = firstOfInode.get(entry.inode);
      if (first !== undefined) {
        entries.push({ entry, linkTo: first });
        continue;
      }
      firstOfInode.set(entry.inode, entry.path);
    }
    entries.push({ entry });
  }

  const created = opts.epoch !== undefined ? new Date(opts.epoch * 1000).toISOString() : source.created ?? new Date(0).toISOString();
  const p = opts.provenance;
  const labels: Record<string, string> = {
    ...(source.config?.Labels ?? {}),
    [`${LABEL_PREFIX}.source.name`]: p.sourceName,
    [`${LABEL_PREFIX}.source.digest`]: p.sourceDigest,
    [`${LABEL_PREFIX}.version`]: p.slimVersion,
    [`${LABEL_PREFIX}.probe`]: p.probe,
  };
  if (opts.harden) labels[`${LABEL_PREFIX}.hardened`] = 'true';
  const config: ContainerConfig = { ...(source.config ?? {}), Labels: labels, ...(opts.harden?.user ? { User: opts.harden.user } : {}) };
  const history: HistoryEntry[] = [
    { created, created_by: `slim build ${p.sourceName}`, comment: `slim ${p.slimVersion}: ${entries.length} entries kept from ${p.sourceDigest}` },
  ];
  return {
    entries,
    config: {
      created,
      architecture: source.architecture,
      os: source.os,
      ...(source.variant ? { variant: source.variant } : {}),
      ...(source.author ? { author: source.author } : {}),
      config,
      history,
    },
    annotations: {
      [`${LABEL_PREFIX}.source.name`]: p.sourceName,
      [`${LABEL_PREFIX}.source.digest`]: p.sourceDigest,
      [`${LABEL_PREFIX}.version`]: p.slimVersion,
      [`${LABEL_PREFIX}.probe`]: p.probe,
      'org.opencontainers.image.created': created,
    },
  };
}
