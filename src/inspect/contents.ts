import { displayPath, type ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { ancestors, parentOf } from '../rootfs/safe-path.js';
import { toolKind, type ToolKind } from '../harden/tools.js';

export interface DirSize {
  path: string;
  bytes: number;
  files: number;
}

/**
 * The directories with the most bytes below them (root excluded); a file counts once however many
 * hard links it has. A directory whose bytes all sit in one subdirectory is left out for that
 * subdirectory (/var/lib/dpkg, not also /var and /var/lib), so the list names places, not chains.
 */
export function largestDirs(index: FileIndex, top = 10): DirSize[] {
  const totals = new Map<ImagePath, DirSize>();
  const counted = new Set<number>();
  for (const e of index.values()) {
    if (e.kind !== 'file' || counted.has(e.inode)) continue;
    counted.add(e.inode);
    for (const dir of ancestors(e.path)) {
      if (dir === '/') continue;
      const t = totals.get(dir) ?? { path: displayPath(dir), bytes: 0, files: 0 };
      t.bytes += e.size;
      t.files++;
      totals.set(dir, t);
    }
  }
  const passThrough = new Set<ImagePath>();
  for (const [dir, t] of totals) {
    const up = totals.get(parentOf(dir));
    if (up && up.bytes === t.bytes && up.files === t.files) passThrough.add(parentOf(dir));
  }
  return [...totals]
    .filter(([dir]) => !passThrough.has(dir))
    .map(([, t]) => t)
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
    .slice(0, top);
}

export interface Tools {
  shells: string[];
  packageManagers: string[];
  compilers: string[];
}

const TOOL_FIELD: Record<ToolKind, keyof Tools> = { shell: 'shells', 'package manager': 'packageManagers', compiler: 'compilers' };

/** Shells, package managers and compilers in the bin directories, files and links to them alike. */
export function toolsIn(index: FileIndex): Tools {
  const out: Tools = { shells: [], packageManagers: [], compilers: [] };
  for (const e of index.sorted()) {
    if (e.kind !== 'file' && e.kind !== 'symlink') continue;
    const kind = toolKind(e.path);
    if (kind) out[TOOL_FIELD[kind]].push(displayPath(e.path));
  }
  return out;
}

export interface SetidFile {
  path: string;
  /** Permission bits in octal, e.g. 4755. */
  mode: string;
  setuid: boolean;
  setgid: boolean;
}

export function setidIn(index: FileIndex): SetidFile[] {
  const out: SetidFile[] = [];
  for (const e of index.sorted()) {
    if (e.kind !== 'file' || (e.meta.mode & 0o6000) === 0) continue;
    out.push({ path: displayPath(e.path), mode: e.meta.mode.toString(8).padStart(4, '0'), setuid: (e.meta.mode & 0o4000) !== 0, setgid: (e.meta.mode & 0o2000) !== 0 });
  }
  return out;
}
