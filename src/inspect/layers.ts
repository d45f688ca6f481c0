import type { HistoryEntry } from '../image/types.js';
import type { ImagePath } from '../rootfs/entry.js';
import { FileIndex } from '../rootfs/file-index.js';
import { applyLayer, type TarEntry } from '../rootfs/flatten.js';
import { baseName, cleanEntryName } from '../rootfs/safe-path.js';

/** One layer's own numbers, from its tar headers alone. */
export interface LayerCounts {
  /** Regular files, hard links included. */
  files: number;
  /** Every entry but whiteouts: files, links, directories, devices. */
  entries: number;
  /** Whiteout and opaque markers. */
  whiteouts: number;
  /**
   * Regular file bytes (a hard link's bytes once) plus symlink target lengths: what Docker counts
   * as a layer's size (`docker history`), so the two can be compared.
   */
  bytes: number;
  /** Regular file bytes alone. */
  fileBytes: number;
}

/** A file version a layer added that a later layer (or a later entry of the same layer) made unreachable. */
export interface WastedFile {
  path: ImagePath;
  bytes: number;
  addedIn: number;
  removedIn: number;
  how: 'deleted' | 'overwritten';
}

export interface Replay {
  /** The final filesystem. */
  index: FileIndex;
  counts: LayerCounts[];
  wasted: WastedFile[];
  /** Bytes of every regular file of every layer: what the layers carry. */
  layerFileBytes: number;
}

const WHITEOUT = '.wh.';

export function countLayer(entries: readonly TarEntry[]): LayerCounts {
  const c: LayerCounts = { files: 0, entries: 0, whiteouts: 0, bytes: 0, fileBytes: 0 };
  for (const t of entries) {
    if (baseName(cleanEntryName(t.name)).startsWith(WHITEOUT)) {
      c.whiteouts++;
      continue;
    }
    c.entries++;
    if (t.type === 'file' || t.type === 'link') c.files++;
    // A hard link's header has size 0: the bytes are counted once, at the file it links to.
    if (t.type === 'file') c.fileBytes += t.size;
    if (t.type === 'symlink') c.bytes += Buffer.byteLength(t.linkname ?? '', 'latin1');
  }
  c.bytes += c.fileBytes;
  return c;
}

/**
 * Apply the layers one by one, as the overlay filesystem would (flatten's applyLayer), and after
 * each one see which file contents are no longer reachable from any path: their bytes still
 * travel in the image but nobody can read them. Contents are tracked by inode, so a file that
 * lives on through a hard link is not counted as lost.
 */
export function replayLayers(layers: readonly (readonly TarEntry[])[]): Replay {
  const index = new FileIndex();
  const wasted: WastedFile[] = [];
  const born = new Map<number, { layer: number; bytes: number }>();
  let live = new Map<number, ImagePath>();
  let layerFileBytes = 0;
  layers.forEach((entries, layer) => {
    wasted.push(...sameLayerRepeats(entries, layer));
    applyLayer(index, layer, entries);
    const now = new Map<number, ImagePath>();
    for (const e of index.values()) {
      if (e.kind !== 'file' || now.has(e.inode)) continue;
      now.set(e.inode, e.path);
      if (!born.has(e.inode)) born.set(e.inode, { layer, bytes: e.size });
    }
    for (const [inode, path] of live) {
      if (now.has(inode)) continue;
      const b = born.get(inode)!;
      wasted.push({ path, bytes: b.bytes, addedIn: b.layer, removedIn: layer, how: index.has(path) ? 'overwritten' : 'deleted' });
    }
    live = now;
    for (const t of entries) if (t.type === 'file') layerFileBytes += t.size;
  });
  return { index, counts: layers.map(countLayer), wasted, layerFileBytes };
}

/** A path written twice in one tar: the later entry wins, and the earlier one's bytes are carried for nothing. */
function sameLayerRepeats(entries: readonly TarEntry[], layer: number): WastedFile[] {
  const last = new Map<string, number>();
  entries.forEach((t, i) => last.set(cleanEntryName(t.name), i));
  const out: WastedFile[] = [];
  entries.forEach((t, i) => {
    const path = cleanEntryName(t.name);
    if (t.type === 'file' && last.get(path) !== i) out.push({ path, bytes: t.size, addedIn: layer, removedIn: layer, how: 'overwritten' });
  });
  return out;
}

/**
 * The history entry behind each layer, as `docker history` pairs them: entries marked
 * empty_layer (ENV, CMD, …) made no layer and are skipped; the rest match the layers in order.
 */
export function historyOfLayers(history: readonly HistoryEntry[] | undefined, layerCount: number): (HistoryEntry | undefined)[] {
  const made = (history ?? []).filter((h) => !h.empty_layer);
  return Array.from({ length: layerCount }, (_, i) => made[i]);
}

/** The instruction for people: the classic builder's `/bin/sh -c #(nop) ` prefix of metadata steps dropped. */
export function instructionOf(h: HistoryEntry | undefined): string {
  const shown = (h?.created_by ?? '').replace(/^\/bin\/sh -c #\(nop\)\s*/, '').trim();
  if (shown) return shown;
  return h?.comment ? `(${h.comment})` : '';
}
