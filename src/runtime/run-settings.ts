import type { ContainerConfig } from '../image/types.js';
import type { RunSpec } from './runtime.js';
import { RUN_LABEL } from './runtime.js';
import { parsePublish } from './publish.js';
import { ExitCode, SlimError, UsageError } from '../errors.js';

/** How the container runs, as `docker run` flags would say; the same for probe and verification. */
export interface RunSettings {
  network?: string;
  env: string[];
  volumes: string[];
  addHosts: string[];
  publish: string[];
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  readOnly: boolean;
  tmpfs: string[];
  stopTimeout: number;
  /** `docker run --security-opt`, a seccomp profile as its JSON (and --harden's own in its checks). */
  securityOpt?: string[];
  /** `docker run --cap-add`, as docker normalises the names (no CAP_), or ALL. */
  capAdd?: string[];
  /** Mount options of a tmpfs in `tmpfs` (`ro,mode=1777,size=65536`), from `--mount type=tmpfs`. */
  tmpfsOptions?: Record<string, string>;
}

/** The argv the container starts with, by Docker's rules: a new entrypoint drops the image's CMD. */
export function commandOf(config: ContainerConfig, s: RunSettings): string[] {
  const entrypoint = s.entrypoint ?? config.Entrypoint ?? [];
  const cmd = s.cmd ?? (s.entrypoint !== undefined ? [] : config.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) {
    throw new SlimError('the image has no ENTRYPOINT or CMD, so there is nothing to run', { code: 'NO_COMMAND', exitCode: ExitCode.usage, hint: 'give --entrypoint and/or --cmd' });
  }
  return argv;
}

/** The run options, checked when the flags are parsed: a bad value is a usage error before anything touches the engine. */
export function checkRunSettings(s: RunSettings): RunSettings {
  const usage = (message: string) => new UsageError(message);
  for (const p of s.publish) parsePublish(p);
  for (const h of s.addHosts) if (!/^[^:\s]+:\S+$/.test(h)) throw usage(`--add-host must be HOST:IP, not "${h}"`);
  for (const t of s.tmpfs) if (!t.startsWith('/')) throw usage(`--tmpfs takes an absolute path in the container, not "${t}"`);
  for (const v of s.volumes) checkVolume(v);
  if (s.workdir !== undefined && !s.workdir.startsWith('/')) throw usage(`--workdir takes an absolute path in the container, not "${s.workdir}"`);
  if (s.user !== undefined && !/^[^:\s]+(:[^:\s]+)?$/.test(s.user)) throw usage(`--user must be USER or USER:GROUP (names or ids), not "${s.user}"`);
  if (s.network !== undefined && !/^\S+$/.test(s.network)) throw usage(`--network must name a network or mode (host, none, NAME, container:ID), not "${s.network}"`);
  const targets = volumeTargets(s);
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  // The engine refuses it too, but only once the probe's volumes are made.
  if (twice) throw usage(`two mounts at ${twice} (-v, --mount and --tmpfs each take a path once)`);
  return s;
}

/**
 * A `-v` spec as the engine would take it: `DST`, `NAME:DST` or `/HOST:DST`, with `:OPTS` after.
 * The engine refuses the others only once the probe's container is being made.
 */
function checkVolume(spec: string): void {
  const parts = spec.split(':');
  const bad = (why: string, hint?: string) => new UsageError(`-v ${spec}: ${why}`, { ...(hint ? { hint } : {}) });
  if (parts.length > 3 || parts.some((p, i) => p === '' && i < 2)) throw bad('must be DST, NAME:DST or /HOST/DIR:DST, each optionally followed by :OPTS (ro, rw, z, …)');
  const target = parts.length === 1 ? parts[0]! : parts[1]!;
  if (!target.startsWith('/')) throw bad(`the path in the container must be absolute, not "${target}"`);
  const source = parts.length > 1 ? parts[0]! : undefined;
  if (source !== undefined && !source.startsWith('/') && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) {
    throw bad(`"${source}" is neither an absolute host path nor a volume name`, 'give a host directory as an absolute path, e.g. "$PWD/data:/data"');
  }
}

/** The tmpfs mounts as the engine takes them: each path with its options, if any. */
export function tmpfsOf(s: RunSettings): { tmpfs?: Record<string, string> } {
  return s.tmpfs.length ? { tmpfs: Object.fromEntries(s.tmpfs.map((t) => [t, s.tmpfsOptions?.[t] ?? ''])) } : {};
}

/**
 * The capabilities of a container that also runs the probe: the user's plus what the probe needs;
 * the app loses only those the user did not ask for, so it keeps what `docker run` would give it.
 */
export function probeCapabilities(s: RunSettings, probe: readonly string[]): { capAdd: string[]; dropFromApp: string[] } {
  const user = s.capAdd ?? [];
  const all = user.includes('ALL');
  return { capAdd: [...new Set([...user, ...probe])], dropFromApp: all ? [] : probe.filter((c) => !user.includes(c)) };
}

export function labelsFor(runId: string, role: string): Record<string, string> {
  return { [RUN_LABEL]: runId, [`${RUN_LABEL}.role`]: role };
}

/** A container of `image` run as the user asked, untraced. */
export function plainRunSpec(image: string, s: RunSettings, labels: Record<string, string>): RunSpec {
  return {
    image,
    ...(s.entrypoint !== undefined ? { entrypoint: s.entrypoint } : {}),
    ...(s.cmd !== undefined ? { cmd: s.cmd } : {}),
    env: s.env,
    ...(s.user !== undefined ? { user: s.user } : {}),
    ...(s.workdir ? { workdir: s.workdir } : {}),
    ...(s.network ? { network: s.network } : {}),
    binds: s.volumes,
    extraHosts: s.addHosts,
    publish: s.publish,
    readOnly: s.readOnly,
    ...tmpfsOf(s),
    ...(s.capAdd?.length ? { capAdd: s.capAdd } : {}),
    ...(s.securityOpt?.length ? { securityOpt: s.securityOpt } : {}),
    labels,
    stopTimeout: s.stopTimeout,
  };
}

/** Container paths that user volumes cover: what is read there is not the image's. */
export function volumeTargets(s: RunSettings): string[] {
  return s.volumes.map((v) => {
    const parts = v.split(':');
    // SRC:DST[:OPTS] or just DST (anonymous volume)
    return (parts.length >= 2 ? parts[1] : parts[0])!;
  }).concat(s.tmpfs).filter((t) => t.startsWith('/'));
}

export function envValue(env: readonly string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const kv = env[i]!;
    if (kv.startsWith(key + '=')) return kv.slice(key.length + 1);
  }
  return undefined;
}
