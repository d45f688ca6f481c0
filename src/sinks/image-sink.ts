import type { Logger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import type { ArtifactFile } from '../registry/artifact.js';
import type { Pushed } from '../registry/push.js';
import type { FileSource } from '../sources/source-ref.js';

/** A file or layout: the transports an input can come from, written with the same grammar. */
export type FileOutputRef = FileSource;

/** What a pushed image carries with it; the engine and files have nowhere to put it. */
export interface Evidence {
  /** Files of the slim evidence artifact: report, trace, seccomp profile. */
  files: ArtifactFile[];
  /** The SBOM, attached on its own with the artifactType scanners look for. */
  sbom?: ArtifactFile;
  annotations: Record<string, string>;
}

export interface SinkContext {
  signal: AbortSignal;
  log: Logger;
  evidence?: Evidence;
}

/** One output as the report lists it. */
export interface Written {
  /** Its entry in `output.written`: `docker:NAME`, `oci:DIR:TAG`, `registry:HOST/REPO:TAG@sha256:…`. */
  entry: string;
  /** Its entry in `output.pushed`, for a registry. */
  pushed?: Pushed;
}

/** A place the slim image goes once it has passed verification. */
export interface ImageSink {
  /** As in `--output`: `docker` is the engine. */
  readonly kind: 'docker' | 'registry' | FileOutputRef['kind'];
  /** How logs and errors name it. */
  readonly label: string;
  /**
   * Its `Written.entry`, known before the write: the report attached to a pushed image is made
   * before the push, and lists every output.
   */
  entry(img: BuiltImage): string;
  /**
   * Checks that need no image (a registry answers and takes the push), run for every sink before
   * the build, so that a wrong host or credentials fail in seconds, not after probing.
   */
  prepare?(ctx: SinkContext): Promise<void>;
  write(img: BuiltImage, ctx: SinkContext): Promise<Written>;
}
