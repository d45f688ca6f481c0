import { Command } from 'commander';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { renderInspect } from '../../inspect/render.js';

interface InspectFlags {
  json?: boolean;
  top: string;
}

export function inspectCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('inspect')
    .description("show where an image's bytes are: layers with their instructions, bytes wasted on files later layers hid, largest directories, packages, shells, compilers, setuid files")
    .argument('<image>', 'image in the engine (or docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG])')
    .option('--json', 'print the report (slim.inspect/v1) as JSON')
    .option('--top <n>', 'how many wasted files to list', '10')
    .action(async (image: string, flags: InspectFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const top = count('--top', flags.top);
        const { inspectFromEngine } = await import('../../inspect/run.js');
        const report = await inspectFromEngine(image, ctx, { top });
        process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderInspect(report, { top }));
        return ExitCode.ok;
      }, flags);
    });
}

export function count(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number above 0, not "${v}"`);
  return n;
}
