import { Command, Option } from 'commander';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode } from '../../errors.js';
import { renderDiff } from '../../inspect/render.js';
import { count } from './inspect.js';
import { checkFileFlags, checkInputRef } from '../file-flags.js';
import { addRegistryInputOptions, registryInputOf, type RegistryInputFlags } from './registry-input.js';

interface DiffFlags extends RegistryInputFlags {
  json?: boolean;
  by?: 'dir' | 'package';
  depth: string;
  top: string;
  html?: string;
}

export function diffCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  const cmd = new Command('diff')
    .description('what image B lacks from image A and what it adds, with sizes, by directory and by package of A (e.g. an image and its slim variant)')
    .argument('<a>', 'the first image, e.g. the original (in the engine, or registry:HOST/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG])')
    .argument('<b>', 'the second image, e.g. its slim variant')
    .option('--json', 'print the report (slim.diff/v1) as JSON')
    .addOption(new Option('--by <grouping>', 'show only this grouping (default: both)').choices(['dir', 'package']))
    .option('--depth <n>', 'directory depth of the groups', '3')
    .option('--top <n>', 'how many groups to print', '20')
    .option('--html <file>', 'also write the report as one self-contained HTML page (treemaps and bars of the directories and packages that differ)');
  return addRegistryInputOptions(cmd)
    .action(async (a: string, b: string, flags: DiffFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const depth = count('--depth', flags.depth);
        const top = count('--top', flags.top);
        const registry = registryInputOf(flags);
        checkInputRef(a);
        checkInputRef(b);
        await checkFileFlags({ '--html': flags.html });
        const { diffFromEngine } = await import('../../inspect/run.js');
        const report = await diffFromEngine(a, b, ctx, { by: flags.by ?? 'both', depth, registry });
        if (flags.html) {
          const [{ renderDiffHtml }, { writeHtml }] = await Promise.all([import('../../report/html/diff.js'), import('../../report/write-html.js')]);
          await writeHtml(flags.html, renderDiffHtml(report));
        }
        process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderDiff(report, { top }));
        return ExitCode.ok;
      }, flags);
    });
}
