import { createReadStream } from 'node:fs';
import { SlimError } from '../errors.js';
import type { HistoryEntry, ImageConfig } from '../image/types.js';
import type { FileEntry } from '../rootfs/entry.js';
import { compareBytes, type FileIndex } from '../rootfs/file-index.js';
import { flatten } from '../rootfs/flatten.js';
import { contentSha256, type ContentReader, type ContentSpool } from '../sources/content-spool.js';
import { scanLayerTar } from '../sources/layer-tar.js';
import type { ReadImage } from '../sources/read-image.js';
import { writeLayer, type WrittenLayer } from '../pack/layer-writer.js';
import { layeredImage, type BuiltImage } from '../pack/image-builder.js';
import type { PlanEntry } from '../pack/plan.js';
import type { FleetEntry } from './share-plan.js';

/**
 * Each entry's key: everything that makes two images' copies the same file, its content by
 * sha256. `only`: just these paths (an original's, which holds more), hard links counted among them.
 */
export async function entriesOf(index: FileIndex, content: ContentReader, only?: ReadonlySet<string>): Promise<FleetEntry[]> {
  const wanted = (p: string) => p !== '/' && (!only || only.has(p));
  const names = new Map<number, string[]>();
  for (const e of index.values()) if (e.kind === 'file' && wanted(e.path)) names.set(e.inode, [...(names.get(e.inode) ?? []), e.path]);
  const out: FleetEntry[] = [];
  for (const e of index.sorted()) {
    if (!wanted(e.path)) continue;
    const m = e.meta;
    const meta = [e.kind, m.mode, m.uid, m.gid, m.mtime, m.uname ?? '', m.gname ?? '', m.xattrs ?? {}];
    if (e.kind === 'dir') {
      out.push({ path: e.path, key: JSON.stringify(meta), bytes: 0, dir: true });
      continue;
    }
    let detail: unknown[] = [];
    if (e.kind === 'file') {
      detail = [e.size, await contentSha256(content, e), [...names.get(e.inode)!].sort()];
    } else if (e.kind === 'symlink') detail = [e.target];
    else if (e.kind === 'char' || e.kind === 'block') detail = [e.major, e.minor];
    out.push({ path: e.path, key: JSON.stringify([...meta, ...detail]), bytes: e.kind === 'file' ? e.size : 0, dir: false });
  }
  return out;
}

/** One layer of these paths of the image, in path order, a file's later names as hard links to its first; gzip, deterministic. */
export async function writeFleetLayer(read: Pick<ReadImage, 'index'>, spool: ContentReader, paths: Iterable<string>, file: string, signal: AbortSignal): Promise<WrittenLayer> {
  const wanted = new Set(paths);
  const entries = read.index.sorted().filter((e) => e.path !== '/' && wanted.has(e.path)).sort((x, y) => compareBytes(x.path, y.path));
  return writeLayer({ entries: withLinks(entries), config: {} as never, annotations: {} }, spool, file, signal, 'gzip');
}

function withLinks(entries: FileEntry[]): PlanEntry[] {
  const first = new Map<number, string>();
  return entries.map((entry) => {
    if (entry.kind !== 'file') return { entry };
    const to = first.get(entry.inode);
    if (to !== undefined) return { entry, linkTo: to };
    first.set(entry.inode, entry.path);
    return { entry };
  });
}

/** The single-layer image's config over these layers, the shared ones said in its history. */
export function layeredOf(config: ImageConfig, layers: WrittenLayer[], sharedBy: string[][]): BuiltImage {
  const { rootfs: _rootfs, history = [], ...rest } = config;
  const created = config.created ?? new Date(0).toISOString();
  const shared: HistoryEntry[] = sharedBy.map((imgs, n) => ({ created, created_by: `slim fleet: shared layer ${n + 1}`, comment: `files kept identically by ${imgs.join(', ')}` }));
  return layeredImage({ ...rest, history: [...shared, ...history] }, {}, layers);
}

/**
 * The layered image holds exactly the single-layer image's files: its layers read back and
 * flattened as an engine stacks them, every path with the same key (kind, content, mode, owner,
 * mtime, xattrs, links), none more, none fewer. A difference is an error naming the paths.
 */
export async function checkSameFiles(single: FleetEntry[], layers: WrittenLayer[], spool: ContentSpool, label: string): Promise<void> {
  const read = [];
  for (const [i, l] of layers.entries()) read.push((await scanLayerTar(createReadStream(l.path), i, spool, `layer ${i + 1} of ${label}`)).entries);
  const got = new Map((await entriesOf(flatten(read), spool)).map((e) => [e.path, e.key]));
  const want = new Map(single.map((e) => [e.path, e.key]));
  const differ = [...new Set([...got.keys(), ...want.keys()])].filter((p) => got.get(p) !== want.get(p)).sort();
  if (differ.length) {
    throw new SlimError(`${label}: its layers do not hold exactly its single-layer files: ${differ.slice(0, 5).map((p) => `${p} (${!got.has(p) ? 'missing' : !want.has(p) ? 'extra' : 'different'})`).join(', ')}${differ.length > 5 ? ', …' : ''}`, { code: 'OUTPUT_FAILED' });
  }
}
