import { readFile, writeFile } from 'node:fs/promises';
import { ExitCode, SlimError } from '../errors.js';
import { commandOf } from '../runtime/run-settings.js';
import type { ExerciseResult } from '../verify/exercise.js';
import { oneLine } from '../verify/exercise.js';
import { describeCheck, withPorts, type Check } from '../verify/checks.js';
import { withOwnMounts } from './run-mounts.js';
import type { Checked } from './verify-run.js';
import { identityOf } from './identity.js';
import { runProbe } from '../probe/run-probe.js';
import type { AccessRecord } from '../trace/record.js';
import { parseTraceText, serialiseRecord } from '../trace/jsonl.js';
import type { BuildDeps, BuildOptions, OpenedImage, TraceResult } from './build-types.js';
import type { ImageInspect } from '../runtime/runtime.js';
import type { RunSettings } from '../runtime/run-settings.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { Identity } from '../closure/users.js';
import { identityFromEngine } from '../probe/engine-identity.js';

/** What a probe run needs of the image: it can start before slim has read the image. */
export interface ProbeSubject {
  inspect: ImageInspect;
  identity(settings: RunSettings): Promise<Identity>;
  /** The image's files, for what the trace shows was executed (awaited only after the run). */
  index: FileIndex | Promise<FileIndex>;
}

/** The image as read. */
export function subjectOf(opened: OpenedImage): ProbeSubject {
  return { inspect: opened.inspect, identity: (settings) => identityOf(opened, settings), index: opened.img.index };
}

/** The image while it is read: its user resolved through the engine, or from the read when the engine's copy cannot say. */
export function subjectWhileReading(inspect: ImageInspect, opened: Promise<OpenedImage>, { runtime, scope }: BuildDeps): ProbeSubject {
  const index = opened.then((o) => o.img.index);
  // Awaited only after a probe run that needs it; a failed read is reported by the build, not here.
  index.catch(() => {});
  return {
    inspect,
    identity: async (settings) => (await identityFromEngine(runtime, scope, inspect.id, settings.user ?? inspect.config.User)) ?? identityOf(await opened, settings),
    index,
  };
}

/** The trace: from a file given with --trace, or from a probe run whose check must pass. */
export async function traceImage(subject: ProbeSubject, opts: Pick<BuildOptions, 'settings' | 'check' | 'probe' | 'traceIn' | 'traceOut' | 'rebuild'>, { runtime, log, scope }: BuildDeps, given?: { check: Check; ports: number[] }): Promise<TraceResult> {
  const { inspect } = subject;
  const config = inspect.config;
  const settings = opts.settings;
  let result: TraceResult;
  if (opts.traceIn) {
    const { records, badLines } = await parseTraceText(readFile(opts.traceIn, 'latin1').catch((err: Error) => {
      throw new SlimError(`cannot read the trace ${opts.traceIn}: ${err.message}`, { code: 'BAD_TRACE', exitCode: ExitCode.usage });
    }));
    if (records.length === 0) throw new SlimError(`${opts.traceIn} holds no trace records (${badLines} unreadable lines)`, { code: 'BAD_TRACE' });
    log.step(`using ${records.length} records from ${opts.traceIn}`);
    result = { records, backend: 'trace-file', summary: `trace from ${opts.traceIn}`, skippedLines: badLines };
  } else {
    commandOf(config, settings);
    const identity = await subject.identity(settings);
    const { check, ports } = given ?? withPorts(opts.check, Object.keys(config.ExposedPorts ?? {}), settings.publish);
    log.step(`probing ${inspect.repoTags[0] ?? inspect.id.slice(7, 19)} (${describeCheck(check)})`);
    const probe = await withOwnMounts({ runtime, scope, log }, settings, 'probe', (own) => runProbe({ runtime, scope, log, image: inspect.id, config, settings: own, identity, backend: opts.probe, check, ports, index: subject.index, jvmClassLog: opts.rebuild.includes('jvm') }));
    if (!probe.run.passed) throw probeFailure(check, probe.run);
    log.info(`${probe.run.summary}; ${probe.records.length} trace records`);
    result = { records: probe.records, backend: probe.backend, summary: probe.run.summary, skippedLines: probe.skippedLines, run: { ...probe.run, health: probe.health }, classLogs: probe.classLogs, ...(probe.run.readySeconds !== undefined ? { readySeconds: probe.run.readySeconds } : {}) };
  }
  if (opts.traceOut) await writeTrace(opts.traceOut, result.records);
  return result;
}

export async function writeTrace(file: string, records: AccessRecord[]): Promise<void> {
  await writeFile(file, records.map(serialiseRecord).join('\n') + '\n', 'latin1');
}

/**
 * The verification checks' baseline run on the original, under the probe: its result is the
 * baseline the slim image is compared with, its trace goes into the closure. A probe run that
 * fails where a plain one would pass must not stop the build: then the plain run is the baseline.
 */
export async function probeBaseline(subject: ProbeSubject, check: Check, ports: number[], deps: BuildDeps, opts: BuildOptions): Promise<{ run: Checked; records: AccessRecord[]; classLogs: string[] } | undefined> {
  const { runtime, scope, log } = deps;
  const config = subject.inspect.config;
  const identity = await subject.identity(opts.settings);
  log.step(`verifying the original under the probe (${describeCheck(check)}): the slim image holds what these checks touch`);
  const probe = await withOwnMounts(deps, opts.settings, 'probe', (own) =>
    runProbe({ runtime, scope, log, image: subject.inspect.id, config, settings: own, identity, backend: opts.probe, check, ports, round: 'verify', index: subject.index, jvmClassLog: opts.rebuild.includes('jvm') }),
  );
  if (!probe.run.passed) {
    log.warn(`the verification checks did not pass on the original under the probe (${probe.run.summary}); running them without it`);
    return undefined;
  }
  log.info(`${probe.run.summary}; ${probe.records.length} trace records`);
  return { run: { ...probe.run, health: probe.health }, records: probe.records, classLogs: probe.classLogs };
}


function probeFailure(check: Check, run: ExerciseResult): SlimError {
  const stderr = oneLine(run.stderr.toString().split('\n').filter(Boolean).slice(-3).join(' | '));
  if (check.kind === 'job') {
    return new SlimError(`the job failed on the original image under the probe: exit code ${run.exitCode}${stderr ? ` (${stderr})` : ''}`, { code: 'PROBE_FAILED', hint: 'a job must exit 0 on the original image; check its arguments and environment' });
  }
  return new SlimError(`the checks did not pass on the original image: ${run.summary}${stderr ? `; container said: ${stderr}` : ''}`, {
    code: 'PROBE_FAILED',
    hint: 'nothing to compare against: make the checks pass on the original first (see --network, --publish, --smoke-timeout)',
  });
}
