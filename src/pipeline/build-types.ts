import type { ImageInspect, Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import type { Scope } from '../runtime/scope.js';
import type { RunSettings } from '../runtime/run-settings.js';
import type { Check } from '../verify/checks.js';
import type { Budget } from './budget.js';
import type { PresetName } from '../closure/presets.js';
import type { ContentReader } from '../sources/content-spool.js';
import type { ReadImage } from '../sources/read-image.js';
import type { ProbeBackend } from '../probe/run-probe.js';
import type { ProbeChoice } from '../probe/select-probe.js';
import type { AccessRecord } from '../trace/record.js';
import type { Checked } from './verify-run.js';
import type { OutputRef } from '../sinks/output.js';
import type { RegistryOptions } from '../sinks/registry-sink.js';
import type { Platform } from '../registry/platform.js';

/** The types the build steps share: one module, so that the steps import none of each other in a circle. */
export interface BuildOptions {
  image: string;
  tag?: string;
  settings: RunSettings;
  /** What the probe run does; verification uses `verifyCheck` (the same unless --verify-* replaced it). */
  check: Check;
  verifyCheck: Check;
  /** Self-repair rounds after a failed verification; 0 turns it off. */
  repairRounds: number;
  /** --keep-failed: a slim image that fails its checks stays in the engine, tagged `<output>-failed`. */
  keepFailed?: boolean;
  probe: ProbeChoice;
  include: string[];
  includeBin: string[];
  exclude: string[];
  presets: PresetName[];
  keepPackages: boolean;
  /** --harden: no setuid/setgid bits, no unused shells/package managers/compilers, a non-root user, seccomp and read-only checks. */
  harden?: { seccompOut: string };
  /** Use this trace (JSON Lines) instead of running the probe. */
  traceIn?: string;
  traceOut?: string;
  epoch?: number;
  budget: Budget;
  /** Where the verified image goes; the engine is always where it is verified. */
  outputs: OutputRef[];
  registry: RegistryOptions;
  /** The image of a `registry:` input's index to read (--platform); the host's when not given. */
  platform?: Platform;
  /** Where the CycloneDX SBOM of the slim image is written (it is attached when pushing either way). */
  sbomOut?: string;
  /** --dry-run: probe and closure only; the report says what would be kept and removed. */
  dryRun?: boolean;
  /** --rebuild: files rebuilt smaller from the traced runs' evidence, each kept only when its checks pass. */
  rebuild: RebuildTarget[];
}

export const REBUILD_TARGETS = ['jvm', 'icu'] as const;
export type RebuildTarget = (typeof REBUILD_TARGETS)[number];

export interface BuildDeps {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}

/** The image read from the engine: its inspect data, flattened filesystem and the content behind it. */
export interface OpenedImage {
  inspect: ImageInspect;
  img: ReadImage;
  /** Every file's bytes, read from where the read put them. */
  spool: ContentReader;
  tmp: string;
  readSeconds: number;
}


export interface TraceResult {
  records: AccessRecord[];
  backend: ProbeBackend | 'trace-file';
  summary: string;
  skippedLines: number;
  /** Seconds the probed app took to pass its first check, when a probe ran a service. */
  readySeconds?: number;
  /** The probe run as a run of its check, when a probe ran. */
  run?: Checked;
  /** The JVMs' class-load logs of the probe run (--rebuild jvm). */
  classLogs?: string[];
}
