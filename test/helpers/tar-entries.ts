import type { TarEntry } from '../../src/rootfs/flatten.js';

/** Tar entries made in memory, as a layer reader would return them; file bytes are never read. */
const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
let offset = 0;

export const file = (name: string, size: number, mode = 0o644): TarEntry => {
  offset += size + 1;
  return { ...meta, name, type: 'file', mode, size, at: { layer: 0, offset, size } };
};
export const dir = (name: string): TarEntry => ({ ...meta, name, type: 'directory', mode: 0o755, size: 0 });
export const symlink = (name: string, target: string): TarEntry => ({ ...meta, name, type: 'symlink', size: 0, linkname: target });
export const hardlink = (name: string, target: string): TarEntry => ({ ...meta, name, type: 'link', size: 0, linkname: target });
/** A whiteout: the caller names it `.wh.NAME`; only the name marks it. */
export const whiteout = (name: string): TarEntry => ({ ...meta, name, type: 'character-device', size: 0 });
