import type { Readable, Writable } from 'node:stream';
import type { ContainerConfig } from '../image/types.js';

/** What the engine says about a running container's networking. */
export interface ContainerNetwork {
  mode: string;
  /** The container's address on its network, when it has one of its own. */
  ip?: string;
  /** Published ports: "8080/tcp" -> host bindings. */
  ports: Record<string, { hostIp: string; hostPort: string }[]>;
}

/** What slim needs from a container engine; implemented over the Docker Engine API (Docker or Podman). */
export interface Runtime {
  /** Throws a SlimError naming the endpoint when the engine cannot be reached. */
  ping(): Promise<{ endpoint: string; version: string; apiVersion: string; flavour?: 'docker' | 'podman' | 'oci' }>;
  inspectImage(ref: string): Promise<ImageInspect | undefined>;
  /** `docker save` of one image, as a stream (docker-archive). */
  saveImage(ref: string, signal: AbortSignal): Promise<Readable>;
  /** `docker load` of a docker-archive stream; returns the image ID (also when the archive's manifest.json tags it). */
  loadImage(archive: Readable, signal: AbortSignal): Promise<string>;
  tagImage(id: string, repository: string, tag: string): Promise<void>;
  removeImage(ref: string): Promise<void>;
  /**
   * Remove a tag (`REPO:TAG`, never an ID). The image goes with it only when that was its last tag
   * and no container uses it; another tag (the user's, another run's) keeps it. Gone already is fine.
   */
  removeTag(ref: string): Promise<void>;
  buildImage(contextDir: string, tag: string, buildArgs: Record<string, string>, signal: AbortSignal): Promise<void>;
  /** Remove untagged images that carry this label (a build's intermediate stages); returns how many. */
  removeDanglingImages(label: string): Promise<number>;
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  volumeExists(name: string): Promise<boolean>;
  /** Create and start a container. The caller removes it (see RunningContainer.remove). */
  run(spec: RunSpec): Promise<RunningContainer>;
  /** Create without starting (e.g. to populate a volume from an image, or to copy a volume through the archive API). */
  create(spec: RunSpec): Promise<CreatedContainer>;
  listByLabel(label: string): Promise<{ containers: string[]; volumes: string[] }>;
  /** A container by name or ID (any state); undefined when there is none. */
  inspectContainer(ref: string): Promise<ContainerInfo | undefined>;
  /**
   * `docker run -i [-t]`: create, attach and start. `io.stdin` goes to the container's stdin (its
   * end is the container's EOF); the output comes out on `io.stdout` and `io.stderr` (all on
   * stdout with a TTY). The container stays until removed.
   */
  runAttached(spec: RunSpec, io: AttachIo): Promise<AttachedContainer>;
}

export interface ContainerInfo {
  id: string;
  /** Without the engine's leading slash. */
  name: string;
  image: string;
  running: boolean;
  exitCode: number;
}

export interface AttachIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** A terminal of this size: the container gets a TTY. */
  tty?: { rows: number; columns: number };
}

export interface AttachedContainer {
  readonly id: string;
  /** Resolves with the exit code once the container ended and its output was written. */
  readonly exited: Promise<number>;
  resize(rows: number, columns: number): Promise<void>;
  remove(): Promise<void>;
}

export interface ImageInspect {
  id: string;
  repoTags: string[];
  size: number;
  os: string;
  architecture: string;
  /** The CPU variant (v7, v8), when the image names one. */
  variant?: string;
  config: ContainerConfig;
}

export interface VolumeMount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface RunSpec {
  image: string;
  /** undefined: the image's own. */
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  network?: string;
  /** `docker run --pid`, e.g. `container:<id>` to share another container's processes. */
  pid?: string;
  /** `-i`, and `-t` when tty: stdin kept open for an attach. */
  interactive?: { tty: boolean };
  /** `docker run -v` specs, passed as given. */
  binds?: string[];
  volumes?: VolumeMount[];
  extraHosts?: string[];
  /** `docker run -p` specs. */
  publish?: string[];
  capAdd?: string[];
  readOnly?: boolean;
  tmpfs?: Record<string, string>;
  securityOpt?: string[];
  labels: Record<string, string>;
  stopTimeout?: number;
}

/** A container that was created and never started: its paths (volumes included) are reached through the archive API. */
export interface CreatedContainer {
  readonly id: string;
  /** A tar stream of a path in the container. */
  copyOut(path: string): Promise<Readable>;
  /** Extract a tar stream into the directory `path` in the container, with the owners and modes it carries. */
  putArchive(path: string, archive: Readable): Promise<void>;
  remove(): Promise<void>;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  error?: string;
}

export interface RunningContainer {
  readonly id: string;
  state(): Promise<ContainerState>;
  /** Resolves with the exit code when the container stops. */
  wait(): Promise<number>;
  stop(timeoutSeconds: number): Promise<void>;
  /** `output`, when the engine tells the order: both streams interleaved as they were written. */
  logs(): Promise<{ stdout: Buffer; stderr: Buffer; output?: Buffer }>;
  /** Run a command inside the running container (docker exec) and wait for it. */
  exec(cmd: string[], opts?: { user?: string; timeoutSeconds?: number }): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }>;
  /** Network mode, own address and published ports, as the engine reports them. */
  network(): Promise<ContainerNetwork>;
  /** A tar stream of a path in the container (works after it stopped, volumes included). */
  copyOut(path: string): Promise<Readable>;
  remove(): Promise<void>;
}

export const RUN_LABEL = 'io.slim.run';
