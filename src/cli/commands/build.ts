import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { DEFAULTS, toBuildOptions, type BuildFlags } from '../options.js';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode } from '../../errors.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function buildCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('build')
    .description('run IMAGE under a probe, keep only the files it needs, and load a verified scratch-based image')
    .argument('<image>', 'image in the engine, e.g. myapp:1.4')
    .option('-t, --tag <ref>', 'name of the slim image (default: IMAGE\'s repository, tag <tag>-slim)')
    .option('--smoke <cmd>', 'host shell command that proves the app works, retried until it passes (env: SLIM_CONTAINER, SLIM_IMAGE); without it the image is run as a job until it exits')
    .option('--smoke-timeout <seconds>', 'how long the smoke test may take to pass', DEFAULTS.smokeTimeout)
    .addOption(new Option('--probe <backend>', 'how file accesses are traced').choices(['strace', 'fanotify', 'both']).default(DEFAULTS.probe))
    .option('--network <mode>', 'network of the container (docker run --network), e.g. host')
    .option('-e, --env <key=value>', 'environment variable for the container (repeatable)', collect, [])
    .option('-v, --volume <spec>', 'volume or bind mount, as docker run -v (repeatable)', collect, [])
    .option('--add-host <host:ip>', 'extra /etc/hosts entry (repeatable)', collect, [])
    .option('-p, --publish <spec>', 'publish a port, as docker run -p (repeatable)', collect, [])
    .option('-u, --user <user[:group]>', 'run as this user (default: the image\'s USER)')
    .option('--entrypoint <cmd>', 'override the entrypoint: JSON array or words (drops the image\'s CMD, as docker does)')
    .option('--cmd <cmd>', 'override the command: JSON array or words')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('--stop-timeout <seconds>', 'grace period between the stop signal and SIGKILL', DEFAULTS.stopTimeout)
    .option('--include <path>', 'keep this path (and all below it) whatever the trace says (repeatable)', collect, [])
    .option('--trace <file>', 'build from this trace (JSON Lines) instead of running the probe')
    .option('--trace-out <file>', 'write the trace (JSON Lines) here')
    .option('--run-id <id>', 'label value for everything this run creates in the engine (io.slim.run=ID); default: random')
    .option('--json', 'print the report as JSON on stdout (progress stays on stderr)')
    .option('--report <file>', 'write the JSON report to this file')
    .action(async (image: string, flags: BuildFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const opts = toBuildOptions(image, flags);
        const { build } = await import('../../pipeline/build.js');
        const { renderText } = await import('../../report/report.js');
        const report = await build(opts, ctx);
        const json = JSON.stringify(report, null, 2);
        if (flags.report) await writeFile(flags.report, json + '\n');
        if (flags.json) process.stdout.write(json + '\n');
        if (!flags.quiet || report.status !== 'ok') process.stderr.write(renderText(report) + '\n');
        return report.status === 'ok' ? ExitCode.ok : ExitCode.verifyFailed;
      }, flags);
    });
}
