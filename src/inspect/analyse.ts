import type { Compression } from '../sources/peek.js';
import type { ImageConfig } from '../image/types.js';
import { displayPath } from '../rootfs/entry.js';
import type { TarEntry } from '../rootfs/flatten.js';
import { installedCount, type PackageDatabase } from '../packages/database.js';
import { largestDirs, setidIn, toolsIn, type DirSize, type SetidFile, type Tools } from './contents.js';
import { historyOfLayers, instructionOf, replayLayers, type Replay } from './layers.js';

export interface InspectLayer {
  index: number;
  /** The layer's diff ID from the config, when it lists one. */
  diffId: string | null;
  /** The history entry's `created_by`, as recorded. */
  createdBy: string;
  /** The same for people: without the `/bin/sh -c #(nop) ` prefix; the comment when nothing made it. */
  instruction: string;
  created: string | null;
  /** Content bytes, counted as `docker history` counts them (files, a hard link once, symlink targets). */
  bytes: number;
  /** The layer blob as it was read: from the engine's archive (docker save), or from the input file. */
  archive: { bytes: number; format: 'tar' | 'tar+gzip' | 'tar+zstd' };
  files: number;
  entries: number;
  whiteouts: number;
  /** Bytes this layer added that later layers hid. */
  wastedBytes: number;
}

export interface InspectWasted {
  path: string;
  bytes: number;
  addedIn: number;
  removedIn: number;
  how: 'deleted' | 'overwritten';
}

export interface InspectReport {
  schema: 'slim.inspect/v1';
  image: { ref: string; id: string; os: string; architecture: string; created: string | null };
  /** The final filesystem. */
  total: { bytes: number; files: number; entries: number; layers: number };
  layers: InspectLayer[];
  /** History steps that made no layer (ENV, CMD, LABEL, …), in order. */
  configSteps: string[];
  wasted: {
    bytes: number;
    /** File versions that were hidden. */
    files: number;
    /** Regular-file bytes of all layers together, what wasted is a share of. */
    layerFileBytes: number;
    top: InspectWasted[];
  };
  /** 1 − wasted / layerFileBytes: 1 when every byte shipped is still reachable. */
  efficiency: number;
  largestDirs: DirSize[];
  /** Installed packages per database; null when the image has no such database. */
  packages: { dpkg: number | null; apk: number | null };
  tools: Tools;
  setid: SetidFile[];
}

export interface LayerInput {
  entries: readonly TarEntry[];
  /** The blob's size as read, and how it was compressed; unknown for layers made in memory. */
  archiveBytes?: number;
  compression?: Compression;
}

export interface InspectInput {
  image: { ref: string; id: string };
  config: ImageConfig;
  layers: readonly LayerInput[];
  /** The final filesystem's package databases, read by the caller. */
  packages: Pick<PackageDatabase, 'managers' | 'packages'>;
  /** How many wasted file versions to list (default 20). */
  top?: number;
}

export function analyseImage(input: InspectInput, replayed?: Replay): InspectReport {
  const { config, layers } = input;
  const replay = replayed ?? replayLayers(layers.map((l) => l.entries));
  const history = historyOfLayers(config.history, layers.length);
  const wastedBy = new Array<number>(layers.length).fill(0);
  let wastedBytes = 0;
  for (const w of replay.wasted) {
    wastedBy[w.addedIn]! += w.bytes;
    wastedBytes += w.bytes;
  }
  const stats = replay.index.stats();
  return {
    schema: 'slim.inspect/v1',
    image: { ...input.image, os: config.os, architecture: config.architecture, created: config.created ?? null },
    total: { bytes: stats.bytes, files: stats.files, entries: stats.entries, layers: layers.length },
    layers: layers.map((l, i) => {
      const c = replay.counts[i]!;
      const h = history[i];
      return {
        index: i,
        diffId: config.rootfs?.diff_ids?.[i] ?? null,
        createdBy: h?.created_by ?? '',
        instruction: instructionOf(h),
        created: h?.created ?? null,
        bytes: c.bytes,
        archive: { bytes: l.archiveBytes ?? 0, format: l.compression === 'gzip' || l.compression === 'zstd' ? `tar+${l.compression}` : 'tar' },
        files: c.files,
        entries: c.entries,
        whiteouts: c.whiteouts,
        wastedBytes: wastedBy[i]!,
      };
    }),
    configSteps: (config.history ?? []).filter((h) => h.empty_layer).map((h) => instructionOf(h)),
    wasted: {
      bytes: wastedBytes,
      files: replay.wasted.length,
      layerFileBytes: replay.layerFileBytes,
      top: [...replay.wasted]
        .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
        .slice(0, input.top ?? 20)
        .map((w) => ({ ...w, path: displayPath(w.path) })),
    },
    efficiency: replay.layerFileBytes === 0 ? 1 : 1 - wastedBytes / replay.layerFileBytes,
    largestDirs: largestDirs(replay.index),
    packages: { dpkg: installedCount(input.packages, 'dpkg'), apk: installedCount(input.packages, 'apk') },
    tools: toolsIn(replay.index),
    setid: setidIn(replay.index),
  };
}
