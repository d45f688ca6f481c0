import type { ImagePath } from '../rootfs/entry.js';
import type { ContainerConfig } from '../image/types.js';
import type { Selection } from './selection.js';
import type { PresetName } from './presets.js';

export interface ClosurePolicy {
  /** Paths that are never the image's own at run time (kernel filesystems, probe and user mounts). */
  ignore: ImagePath[];
  /** `--include`: paths or globs, kept with everything below them. */
  include: string[];
  /** `--include-bin`: programs (a path, or a name looked up in PATH), kept with their libraries. */
  includeBin?: string[];
  /** `--exclude`: globs never kept, except as the parent directory of something kept. */
  exclude?: string[];
  /** `--keep`: presets of files traces often miss. */
  presets?: PresetName[];
  /** `--keep-packages`: every package (dpkg, apk) that owns a kept file is kept whole. */
  keepPackages?: boolean;
  /**
   * Commands the runtime starts by path lookup: entrypoint + cmd, and the HEALTHCHECK. A trace that
   * sees only resolved paths (fanotify) misses the symlinks on the way to them (/bin/sh -> dash).
   */
  commands: string[][];
  config: ContainerConfig;
  /** Paths the slim image was found to miss when it failed verification (self-repair). */
  repairs?: ImagePath[];
}

export interface ClosureResult {
  selection: Selection;
  /** How many paths each preset added. */
  presets: Partial<Record<PresetName, number>>;
  /** Packages kept whole (--keep-packages), sorted. */
  packages: string[];
  /** Paths --exclude kept out. */
  excluded: number;
  /** Things the closure could not satisfy (a DT_NEEDED library missing from the image, …). */
  warnings: string[];
}

const ALWAYS_IGNORED = ['/proc', '/sys', '/dev', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

export function isIgnored(path: string, ignore: readonly string[]): boolean {
  return [...ALWAYS_IGNORED, ...ignore].some((p) => path === p || path.startsWith(p.endsWith('/') ? p : p + '/'));
}
