import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Runtime, RunSpec, VolumeMount } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import type { Logger } from '../log.js';
import type { AccessRecord } from '../trace/record.js';
import type { Identity } from '../closure/users.js';
import type { ContainerConfig } from '../image/types.js';
import { commandOf, envValue, labelsFor, probeCapabilities, tmpfsOf, type RunSettings } from '../runtime/run-settings.js';
import { exercise, type Check, type ExerciseResult } from '../verify/exercise.js';
import { ensureProbeImage } from './probe-image.js';
import { healthcheckArgv, runHealthcheck, type HealthResult } from '../verify/healthcheck.js';
import { StraceParser } from '../trace/strace-parse.js';
import { parseTraceLine } from '../trace/jsonl.js';
import { SlimError } from '../errors.js';
import { parseSyscallSummary } from '../harden/seccomp.js';
import { CAPS, PROBE_DIR, selectProbe, type ProbeBackend, type ProbeChoice } from './select-probe.js';
import { privilegedExecs } from './privileged-exec.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { smallArchive } from '../tar/small-archive.js';

export { PROBE_DIR, type ProbeBackend };

export const OUT_DIR = '/.slim-out';

export interface ProbeResult {
  records: AccessRecord[];
  run: ExerciseResult;
  backend: ProbeBackend;
  skippedLines: number;
  health: { result: HealthResult; detail: string };
  /** In syscalls mode: every system call name seen, sorted. */
  syscalls: string[];
  /** With jvmClassLog: each JVM's class-load log (`-Xlog:class+load`), one text per process. */
  classLogs: string[];
}

type ProbeArgs = Parameters<typeof runProbe>[0];


/**
 * Run the image with the sensor as its first process: the probe files come in on a read-only
 * volume, the trace goes out on another, the container gets only the capability its backend
 * needs, and everything is labelled and removed through the scope.
 */
export async function runProbe(args: {
  runtime: Runtime;
  scope: Scope;
  log: Logger;
  image: string;
  config: ContainerConfig;
  settings: RunSettings;
  identity: Identity;
  backend: ProbeChoice;
  check: Check;
  /** Tells this probe run's volumes apart from an earlier one's in the same slim run. */
  round?: string;
  /** files: what the app touches (the trace); syscalls: every system call it makes, counted (needs strace). */
  mode?: 'files' | 'syscalls';
  timeoutSeconds?: number;
  /** Each check's passing attempt on the original, by name (see limitsFrom). */
  expected?: ReadonlyMap<string, number>;
  ports?: number[];
  /** The image's files: an exec of a setuid/setgid/file-capability file in the trace repeats the run exactly. */
  index?: FileIndex | Promise<FileIndex>;
  /** Every JVM in the run logs the classes it loads into the output volume (`--rebuild jvm`'s evidence). */
  jvmClassLog?: boolean;
  /** Variables and volumes this run gets besides the user's (`--rebuild icu`'s data items, read as files). */
  extra?: { env: string[]; volumes: VolumeMount[] };
}): Promise<ProbeResult> {
  const first = await probeOnce(args, false);
  if (!args.index || first.backend === 'fanotify' || args.mode === 'syscalls') return first;
  const raised = privilegedExecs(await args.index, first.records);
  if (raised.length === 0) return first;
  args.log.info(`the app executed ${raised.slice(0, 3).join(', ')}${raised.length > 3 ? ', …' : ''}, which raise privileges at exec; probing again without strace's seccomp filter, whose no_new_privs stops that`);
  return probeOnce({ ...args, backend: first.backend, round: `${args.round ?? ''}x` }, true);
}

async function probeOnce(args: ProbeArgs, exactPrivileges: boolean): Promise<ProbeResult> {
  const { runtime, scope, log, settings, identity } = args;
  const probeImage = await ensureProbeImage(runtime, log, scope.signal);
  const syscallMode = args.mode === 'syscalls';
  const { backend, reason } = await selectProbe(runtime, probeImage, syscallMode ? 'strace' : args.backend, scope);
  if (args.backend === 'auto') log.info(`probe: ${backend} (auto: ${reason})`);
  const labels = labelsFor(scope.id, 'probe');
  const suffix = args.round ? `-${args.round}` : '';
  const probeVol = `slim-probe-${scope.id}${suffix}`;
  const outVol = `slim-out-${scope.id}${suffix}`;
  for (const v of [probeVol, outVol]) {
    await runtime.createVolume(v, labels);
    scope.defer(`volume ${v}`, () => runtime.removeVolume(v));
  }
  // Docker copies an image's content into an empty named volume when a container mounts it there.
  const filler = await runtime.create({ image: probeImage, volumes: [{ source: probeVol, target: PROBE_DIR, readOnly: false }, { source: outVol, target: OUT_DIR, readOnly: false }], labels, network: 'none' });
  // The JVM writes its log as the image's user, after the sensor dropped root.
  if (args.jvmClassLog) await filler.putArchive(OUT_DIR, await smallArchive([{ name: JVM_LOG_DIR, mode: 0o1777 }]));
  await filler.remove();

  const argv = commandOf(args.config, settings);
  const caps = probeCapabilities(settings, CAPS[backend]);
  const dropCaps = caps.dropFromApp.length ? ['--drop-caps', caps.dropFromApp.join(',')] : [];
  const sensorArgs = [
    ...(syscallMode ? ['--syscalls', `${OUT_DIR}/syscalls.txt`] : []),
    ...(!syscallMode && backend !== 'fanotify' ? ['--strace', `${OUT_DIR}/strace.log`, ...(exactPrivileges ? ['--exact-privileges'] : [])] : []),
    ...(!syscallMode && backend !== 'strace' ? ['--fanotify', `${OUT_DIR}/fanotify.jsonl`] : []),
    '--user', `${identity.uid}:${identity.gid}${identity.groups.length ? ':' + identity.groups.join(',') : ''}`,
    // The capability is the probe's, not the app's: under docker run the app would not have it.
    ...dropCaps,
    '--',
    ...argv,
  ];
  const imageEnv = args.config.Env ?? [];
  // The sensor starts as root and drops to the image's user itself; the engine would otherwise set HOME to /root.
  const home = envValue([...imageEnv, ...settings.env], 'HOME') === undefined ? [`HOME=${identity.home}`] : [];
  const spec: RunSpec = {
    image: args.image,
    entrypoint: [`${PROBE_DIR}/slim-sensor`],
    cmd: sensorArgs,
    env: [...settings.env, ...home, ...(args.jvmClassLog ? [classLogOption([...imageEnv, ...settings.env])] : []), ...(args.extra?.env ?? [])],
    user: '0:0',
    ...(settings.workdir ? { workdir: settings.workdir } : {}),
    ...(settings.network ? { network: settings.network } : {}),
    binds: settings.volumes,
    volumes: [
      { source: probeVol, target: PROBE_DIR, readOnly: true },
      { source: outVol, target: OUT_DIR, readOnly: false },
      ...(args.extra?.volumes ?? []),
    ],
    extraHosts: settings.addHosts,
    publish: settings.publish,
    readOnly: settings.readOnly,
    ...tmpfsOf(settings),
    capAdd: caps.capAdd,
    ...(settings.securityOpt?.length ? { securityOpt: settings.securityOpt } : {}),
    labels,
    stopTimeout: settings.stopTimeout,
  };
  const container = await runtime.run(spec);
  const containerCleanup = `probe container ${container.id.slice(0, 12)}`;
  scope.defer(containerCleanup, () => container.remove());
  log.info(`probe container ${container.id.slice(0, 12)} started (${backend}, cap ${CAPS[backend].join('+')})`);
  let health: ProbeResult['health'] = { result: 'none', detail: 'the image has no HEALTHCHECK' };
  const ids = sensorArgs[sensorArgs.indexOf('--user') + 1]!;
  // Commands run inside the container (HEALTHCHECK, --exec) go through the sensor too, each with its own strace log.
  let execs = 0;
  const traced = (argv: string[]) => {
    const n = ++execs;
    const record = syscallMode ? ['--syscalls', `${OUT_DIR}/exec-${n}-syscalls.txt`] : backend !== 'fanotify' ? ['--strace', `${OUT_DIR}/exec-${n}-strace.log`, ...(exactPrivileges ? ['--exact-privileges'] : [])] : [];
    return [`${PROBE_DIR}/slim-sensor`, ...record, '--user', ids, ...dropCaps, '--', ...argv];
  };
  const hc = healthcheckArgv(args.config);
  const whilePassing = hc
    ? async () => {
        health = await runHealthcheck(container, args.config, traced(hc), '0:0');
        log.info(`ran the image's HEALTHCHECK under the probe: ${health.detail}`);
      }
    : undefined;
  const run = await exercise(container, args.check, {
    image: args.image,
    stopTimeout: settings.stopTimeout,
    signal: scope.signal,
    exec: (argv, timeoutSeconds) => container.exec(traced(argv), { user: '0:0', timeoutSeconds }),
    ...(whilePassing ? { whilePassing } : {}),
    ...(log.status ? { status: log.status } : {}),
    ...(args.timeoutSeconds !== undefined ? { timeoutSeconds: args.timeoutSeconds } : {}),
    ...(args.expected ? { expected: args.expected } : {}),
    ...(args.ports ? { ports: args.ports } : {}),
  });
  if (run.exitCode === 125 && /slim-sensor:/.test(run.stderr.toString())) {
    throw new SlimError(`the probe could not start: ${run.stderr.toString().trim().split('\n').pop()}`, { code: 'PROBE_FAILED' });
  }
  const workdir = settings.workdir || args.config.WorkingDir || '/';
  const { records, skippedLines, syscalls, classLogs } = await collectTrace(await container.copyOut(OUT_DIR), workdir);
  // Gone now, not at the end of the run: a repair round removes the image this container ran.
  await container.remove();
  scope.release(containerCleanup);
  for (const v of [probeVol, outVol]) {
    await runtime.removeVolume(v);
    scope.release(`volume ${v}`);
  }
  return { records, run, backend, skippedLines, health, syscalls, classLogs };
}

const JVM_LOG_DIR = 'jvm';

/**
 * JAVA_TOOL_OPTIONS with the class-load log added to what the image or the user set: every JVM
 * started in the container reads it, each writing a log of its own (%p, its PID). The JVM says
 * "Picked up JAVA_TOOL_OPTIONS" on stderr, as it does for any value.
 */
export function classLogOption(env: readonly string[]): string {
  const own = envValue(env, 'JAVA_TOOL_OPTIONS');
  const log = `-Xlog:class+load=info:file=${OUT_DIR}/${JVM_LOG_DIR}/classes-%p.log::filecount=0`;
  return `JAVA_TOOL_OPTIONS=${own ? `${own} ${log}` : log}`;
}



/** Read the probe's output volume: strace's raw log and/or the sensor's JSON Lines. */
export async function collectTrace(archive: Readable, workdir: string): Promise<{ records: AccessRecord[]; skippedLines: number; syscalls: string[]; classLogs: string[] }> {
  const extract = tar.extract();
  const feeding = pipeline(archive, extract);
  // Errors also end the iteration below; this keeps an early exit from leaving a rejection unhandled.
  feeding.catch(() => {});
  const records: AccessRecord[] = [];
  const syscalls = new Set<string>();
  const classLogs: string[] = [];
  let skippedLines = 0;
  for await (const item of extract) {
    const name = item.header.name;
    if (name.endsWith('strace.log')) {
      const parser = new StraceParser({ cwd: workdir });
      for await (const line of lines(item as AsyncIterable<Buffer>)) parser.push(line);
      const r = parser.finish();
      records.push(...r.records);
      skippedLines += r.skippedLines;
    } else if (name.endsWith('fanotify.jsonl')) {
      for await (const line of lines(item as AsyncIterable<Buffer>)) {
        if (!line) continue;
        const rec = parseTraceLine(line);
        if (rec) records.push(rec);
        else skippedLines++;
      }
    } else if (/(^|\/)jvm\/classes-\d+\.log$/.test(name)) {
      const chunks: Buffer[] = [];
      for await (const c of item as AsyncIterable<Buffer>) chunks.push(c);
      classLogs.push(Buffer.concat(chunks).toString('utf8'));
    } else if (name.endsWith('syscalls.txt')) {
      const chunks: Buffer[] = [];
      for await (const c of item as AsyncIterable<Buffer>) chunks.push(c);
      for (const n of parseSyscallSummary(Buffer.concat(chunks).toString('latin1'))) syscalls.add(n);
    } else item.resume();
  }
  await feeding;
  return { records, skippedLines, syscalls: [...syscalls].sort(), classLogs };
}

/** Lines of a stream, decoded byte-for-character (latin1) so no path byte is lost. */
async function* lines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of stream) {
    const text = carry + chunk.toString('latin1');
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    yield* parts;
  }
  if (carry) yield carry;
}
