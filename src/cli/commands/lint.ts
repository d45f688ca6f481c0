import { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { loadLintConfig } from '../../lint/config.js';
import { FORMATS, formatFindings, type Format } from '../../lint/format/index.js';
import { lintDockerfile, readContext, SEVERITY_RANK, type Finding, type Severity } from '../../lint/lint.js';
import { readText } from '../../lint/files.js';
import { checkRuleIds } from '../../lint/rule-ids.js';

interface LintFlags {
  format?: Format;
  json?: boolean;
  context?: string;
  ignore: string[];
  config?: string;
  failOn: Severity;
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',')];

export function lintCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('lint')
    .description('check Dockerfiles for what makes images big or unsafe: each finding has a rule id (and the hadolint one it matches), a place and a fix')
    .argument('<dockerfile...>', 'the Dockerfiles to check; - reads one from stdin')
    .addOption(new Option('--format <format>', 'how to print the findings').choices(FORMATS))
    .option('--json', 'the same as --format json')
    .option('--context <dir>', "build context directory, for .dockerignore (default: each Dockerfile's directory; none for stdin)")
    .option('--ignore <rules>', 'rule ids to skip, comma-separated or repeated: SL008,SL017 or hadolint ids such as DL3008', collect, [])
    .option('--config <file>', 'lint config (default: .slim-lint.yaml beside the Dockerfile, else in the current directory)')
    .addOption(new Option('--fail-on <severity>', 'exit 5 when a finding is at least this severe').choices(['error', 'warning', 'info']).default('error'))
    .action(async (dockerfiles: string[], flags: LintFlags & GlobalFlags) => {
      await run(async () => {
        if (flags.json && flags.format !== undefined && flags.format !== 'json') throw new UsageError(`--json and --format ${flags.format} ask for two formats`);
        const format: Format = flags.format ?? (flags.json ? 'json' : 'text');
        if (dockerfiles.filter((d) => d === '-').length > 1) throw new UsageError('- (stdin) can be given once');
        if (flags.context !== undefined && !(await isDirectory(flags.context))) throw new UsageError(`--context ${flags.context} is not a directory`);
        const ignore = checkRuleIds(flags.ignore.filter((r) => r.trim() !== ''), '--ignore');
        const findings: Finding[] = [];
        for (const dockerfile of dockerfiles) findings.push(...(await lintOne(dockerfile, flags, ignore)));
        process.stdout.write(formatFindings(format, findings, dockerfiles));
        const threshold = SEVERITY_RANK[flags.failOn];
        return findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? ExitCode.lintFindings : ExitCode.ok;
      }, flags);
    });
}

/** A Dockerfile from stdin has no directory, so its build context is the one --context names, or none. */
async function lintOne(dockerfile: string, flags: LintFlags, ignore: string[]): Promise<Finding[]> {
  const stdin = dockerfile === '-';
  const text = stdin ? await readStdin() : await readText(dockerfile);
  if (text === null) throw new UsageError(`cannot read Dockerfile ${dockerfile}`);
  const config = await loadLintConfig(flags.config, stdin ? null : dockerfile);
  const dir = flags.context ?? (stdin ? undefined : dirname(dockerfile));
  const contextFiles = dir === undefined ? {} : await readContext(stdin ? null : dockerfile, dir);
  return lintDockerfile(text, { file: dockerfile, contextFiles, ignore, config });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
