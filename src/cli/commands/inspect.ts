import { Command } from 'commander';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { renderInspect } from '../../inspect/render.js';
import { CI_RULES, CI_RULE_NAMES, ciRulesFromOptions, type CiOptions } from '../../inspect/ci-rules.js';
import { checkFileFlags, checkInputRef } from '../file-flags.js';
import { addRegistryInputOptions, registryInputOf, type RegistryInputFlags } from './registry-input.js';

interface InspectFlags extends CiOptions, RegistryInputFlags {
  json?: boolean;
  top: string;
  html?: string;
}

export function inspectCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  const cmd = new Command('inspect')
    .description("show where an image's bytes are: layers with their instructions, bytes wasted on files later layers hid, largest directories, packages, shells, compilers, setuid files")
    .argument('<image>', 'image in the engine (or registry:HOST/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG])')
    .option('--json', 'print the report (slim.inspect/v1) as JSON')
    .option('--top <n>', 'how many wasted files to list', '10')
    .option('--html <file>', 'also write the report as one self-contained HTML page (layers, wasted files, a treemap of the largest directories)')
    .option('--ci', `check the image against rules, as dive --ci does: exit ${ExitCode.ciFailed} when one fails`)
    .option('--ci-config <file>', "rules in dive's .dive-ci format (default: ./.dive-ci when present)")
    .action(async (image: string, flags: InspectFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const top = count('--top', flags.top);
        const gate = ciRulesFromOptions(flags);
        const registry = registryInputOf(flags);
        checkInputRef(image);
        await checkFileFlags({ '--html': flags.html });
        const { inspectFromEngine } = await import('../../inspect/run.js');
        const report = await inspectFromEngine(image, ctx, { top, registry });
        if (flags.html) {
          const [{ renderInspectHtml }, { writeHtml }] = await Promise.all([import('../../report/html/inspect.js'), import('../../report/write-html.js')]);
          await writeHtml(flags.html, renderInspectHtml(report));
        }
        if (!gate) {
          process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderInspect(report, { top }));
          return ExitCode.ok;
        }
        const { evaluateCi, renderCi } = await import('../../inspect/ci-gate.js');
        const ci = evaluateCi(report, gate.rules, gate.file);
        process.stdout.write(flags.json ? JSON.stringify({ ...report, ci }, null, 2) + '\n' : renderInspect(report, { top }) + '\n' + renderCi(ci));
        return ci.pass ? ExitCode.ok : ExitCode.ciFailed;
      }, flags);
    });
  const kinds = { ratio: 'ratio', size: 'size', count: 'n' } as const;
  addRegistryInputOptions(cmd);
  for (const name of CI_RULE_NAMES) cmd.option(`${CI_RULES[name].flag} <${kinds[CI_RULES[name].kind]}>`, `--ci: ${CI_RULES[name].help}; or disabled`);
  return cmd;
}

export function count(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number above 0, not "${v}"`);
  return n;
}
