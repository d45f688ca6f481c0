import { Command } from 'commander';
import { toBuildOptions, type BuildFlags } from '../options.js';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { addRunOptions } from './run-options.js';
import { checkFileFlags, checkInputRef } from '../file-flags.js';
import { addRegistryInputOptions, registryInputOf, type RegistryInputFlags } from './registry-input.js';

export function probeCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  const cmd = new Command('probe')
    .description('run IMAGE under the probe and write the trace, without building (reuse it with `slim build --trace`)')
    .argument('<image>', 'image in the engine (or registry:HOST/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG])');
  return addRegistryInputOptions(addRunOptions(cmd))
    .option('--json', 'print a summary as JSON on stdout')
    .action(async (image: string, flags: BuildFlags & RegistryInputFlags & GlobalFlags) => {
      await run(async (ctx) => {
        if (!flags.traceOut) throw new UsageError('slim probe needs --trace-out FILE');
        const opts = toBuildOptions(image, { ...flags, include: [], output: [] });
        const input = registryInputOf(flags);
        checkInputRef(image);
        await checkFileFlags({ '--trace-out': flags.traceOut });
        const { openImage } = await import('../../pipeline/read-step.js');
        const { subjectOf, traceImage } = await import('../../pipeline/trace-step.js');
        const opened = await openImage(image, ctx, input);
        const trace = await traceImage(subjectOf(opened), opts, ctx);
        const summary = {
          image,
          backend: trace.backend,
          records: trace.records.length,
          distinctPaths: new Set(trace.records.map((r) => r.path)).size,
          skippedLines: trace.skippedLines,
          check: trace.summary,
          traceOut: flags.traceOut,
        };
        if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        process.stderr.write(`\nslim probed ${image} with ${trace.backend}: ${summary.records} records (${summary.distinctPaths} distinct paths) written to ${flags.traceOut}\n`);
        return ExitCode.ok;
      }, flags);
    });
}
