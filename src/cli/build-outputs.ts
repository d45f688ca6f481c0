import { writeFile } from 'node:fs/promises';
import { SlimError } from '../errors.js';
import { checkWritableFile } from './file-flags.js';
import { PhaseClock, type Phase } from '../pipeline/phase-clock.js';
import { errorReport } from '../report/report.js';
import { appendStepSummary } from '../report/step-summary.js';
import type { CommandContext } from './context.js';

const PHASES: Phase[] = ['read', 'probe', 'closure', 'pack', 'verify', 'repair'];

/** What a failing build still knows to report: set by the action as it learns it. */
export interface Failure {
  ref: string | null;
  clock: PhaseClock;
  /** The image is known: checks --report FILE before anything else is done. */
  begin(ref: string | null): Promise<void>;
  /** Writes --report FILE; once that has failed, the failure's report is not tried there again. */
  writeReport(json: string): Promise<void>;
}

/**
 * A report file that cannot be written is found before the build, not after minutes of it; the
 * write at the end can still fail (a full disk), and says so in a line of its own.
 */
export async function checkReportPath(file: string): Promise<void> {
  await checkWritableFile('--report', file);
}

export async function writeReport(file: string, json: string): Promise<void> {
  try {
    await writeFile(file, json + '\n');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SlimError(`cannot write the report to ${file}: ${e.code ?? e.message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
}

/**
 * Runs a build action so that its failure still gives --json, --report FILE and the job summary
 * a report: the error and the timings so far. The error itself goes on to be printed and to set
 * the exit code.
 */
export function reportingFailures<T extends { json?: boolean; report?: string }>(flags: T, action: (ctx: CommandContext, failure: Failure) => Promise<number>): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    const file = flags.report;
    let fileOk = file !== undefined;
    const toFile = async (json: string) => {
      if (!fileOk) return;
      fileOk = false;
      await writeReport(file!, json);
      fileOk = true;
    };
    const failure: Failure = {
      ref: null,
      clock: new PhaseClock(),
      async begin(ref) {
        failure.ref = ref;
        if (file === undefined) return;
        fileOk = false;
        await checkReportPath(file);
        fileOk = true;
      },
      writeReport: toFile,
    };
    try {
      return await action(ctx, failure);
    } catch (err) {
      // An abort surfaces as whatever the aborted request threw; the reason is what happened.
      const signal = ctx.scope?.signal;
      const reason: unknown = signal?.aborted && signal.reason instanceof SlimError ? signal.reason : err;
      const ran = PHASES.filter((p) => failure.clock.seconds(p) > 0);
      const timings = { ...Object.fromEntries(ran.map((p) => [p, failure.clock.seconds(p)])), total: failure.clock.total() };
      const report = errorReport(failure.ref, reason, timings);
      const json = JSON.stringify(report, null, 2);
      if (flags.json) process.stdout.write(json + '\n');
      await toFile(json).catch((e: unknown) => ctx.log.warn((e as Error).message));
      await appendStepSummary(report, process.env, ctx.log.warn);
      throw err;
    }
  };
}
