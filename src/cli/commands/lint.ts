import { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { lintFile, SEVERITY_RANK, type Finding, type Severity } from '../../lint/lint.js';

interface LintFlags {
  json?: boolean;
  context?: string;
  ignore?: string;
  failOn: Severity;
}


export function lintCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('lint')
    .description('check a Dockerfile for what makes images big or unsafe: each finding has a rule id, a line and a fix')
    .argument('<dockerfile>', 'the Dockerfile to check')
    .option('--json', 'print the findings as a JSON array')
    .option('--context <dir>', "build context directory, for .dockerignore (default: the Dockerfile's directory)")
    .option('--ignore <rules>', 'comma-separated rule ids to skip, e.g. SL008,SL017')
    .addOption(new Option('--fail-on <severity>', 'exit 5 when a finding is at least this severe').choices(['error', 'warning', 'info']).default('error'))
    .action(async (dockerfile: string, flags: LintFlags & GlobalFlags) => {
      await run(async () => {
        if (flags.context !== undefined && !(await isDirectory(flags.context))) {
          throw new UsageError(`--context ${flags.context} is not a directory`);
        }
        const ignore = (flags.ignore ?? '').split(',').map((r) => r.trim().toUpperCase()).filter((r) => r !== '');
        const findings = await lintFile(dockerfile, flags.context, { ignore });
        process.stdout.write(flags.json ? JSON.stringify(findings, null, 2) + '\n' : findings.map((f) => formatFinding(dockerfile, f) + '\n').join(''));
        const threshold = SEVERITY_RANK[flags.failOn];
        return findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? ExitCode.lintFindings : ExitCode.ok;
      }, flags);
    });
}

export function formatFinding(file: string, f: Finding): string {
  return `${file}:${f.line} ${f.rule} ${f.severity}: ${f.message} (fix: ${f.fix})`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
