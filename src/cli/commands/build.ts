import { Command } from 'commander';
import { toBuildOptions, type BuildFlags } from '../options.js';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, InternalError, UsageError } from '../../errors.js';
import { applyConfigFile, placeConfigError } from '../config-file.js';
import { addRunOptions, collect } from './run-options.js';
import { DEFAULTS } from '../options.js';
import { reportingFailures, type Failure } from '../build-outputs.js';
import type { BuildReport } from '../../report/report.js';
import type { DryRunReport } from '../../report/dry-run.js';
import { appendStepSummary } from '../../report/step-summary.js';
import { platformOption, registryInputOf } from './registry-input.js';
import { checkFileFlags, checkInputRef } from '../file-flags.js';

export function buildCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  const cmd = new Command('build')
    .description('run IMAGE under a probe, keep only the files it needs, and load a verified scratch-based image')
    .argument('[image]', 'image in the engine, e.g. myapp:1.4, or registry:HOST/REPO[:TAG|@DIGEST], docker-archive:FILE, oci:DIR[:TAG], oci-archive:FILE[:TAG] (or `image:` in the config file)')
    .option('--config <file>', 'read options from this YAML file (default: ./slim.yaml if present); flags given here win')
    .option('-t, --tag <ref>', 'name of the slim image (default: IMAGE\'s repository, tag <tag>-slim)');
  return addRunOptions(cmd)
    .option('--include <path>', 'keep this path or glob (and all below it) whatever the trace says (repeatable)', collect, [])
    .option('--include-bin <program>', 'keep this program (a path, or a name looked up in PATH) with its libraries (repeatable)', collect, [])
    .option('--exclude <glob>', 'never keep paths matching this glob, unless as the parent of something kept (repeatable)', collect, [])
    .option('--keep <presets>', 'keep files traces often miss: app (every file no package owns), certs, tz, nss, locales, python, node, jvm (comma-separated, repeatable)', collect, [])
    .option('--keep-packages', 'keep every dpkg/apk package that owns a kept file whole: bigger, safer')
    .option('-o, --output <dest>', 'where the verified image goes: docker (default), registry:HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE (repeatable)', collect, [])
    .option('--no-attach', 'push the image without its report, trace, seccomp profile and SBOM attached')
    .option('--insecure-registry <host>', 'speak plain HTTP to this registry host, for outputs and a registry: input (loopback hosts always are) (repeatable)', collect, [])
    .addOption(platformOption())
    .option('--verify-smoke <cmd>', 'smoke command for verification only (replaces the probe\'s checks there)')
    .option('--verify-http-probe <request>', 'HTTP request for verification only (repeatable)', collect, [])
    .option('--verify-http-spec <file>', 'HTTP spec file for verification only (repeatable)', collect, [])
    .option('--verify-exec <cmd>', 'command inside the container for verification only (repeatable)', collect, [])
    .option('--repair-rounds <n>', 'when the slim image fails, trace it, add what it missed and try again, up to N times', DEFAULTS.repairRounds)
    .option('--no-repair', 'do not try to repair a slim image that fails verification')
    .option('--keep-failed', 'when the slim image fails its checks (after repair), keep it in the engine as <tag>-failed for a look (e.g. with slim debug); the exit code stays 3')
    .option('--trace <file>', 'build from this trace (JSON Lines) instead of running the probe')
    .option('--harden', 'no setuid/setgid bits, no unused shells/package managers/compilers, a non-root USER (with --user), and checks under a seccomp profile made from the observed system calls and with a read-only root')
    .option('--rebuild <what>', 'rebuild files smaller from the traced runs\' evidence, each kept only if extra checks pass: jvm (lib/modules by jlink of the modules the app loaded, with a fresh class-sharing archive) (comma-separated, repeatable)', collect, [])
    .option('--seccomp-out <file>', 'where --harden writes the seccomp profile (default: next to --report, else ./slim.seccomp.json)')
    .option('--max-size <size>', 'fail (exit 4) when the slim image is larger, e.g. 50MB, 1.5GiB; nothing is published')
    .option('--min-reduction <ratio>', 'fail (exit 4) when the slim image is less than RATIO times smaller, e.g. 5')
    .option('--json', 'print the report as JSON on stdout, an error report when the build fails (progress stays on stderr)')
    .option('--report <file>', 'write the JSON report to this file')
    .option('--html <file>', 'write the report as one self-contained HTML page (treemap of kept and removed bytes, checks, repair, hardening, timings)')
    .option('--sbom <file>', 'write a CycloneDX SBOM of the slim image (default: next to --report, as <report>.sbom.cdx.json)')
    .option('--dry-run', 'probe and compute the closure only: print what would be kept and removed (by directory and package) and the projected size; nothing is packed, loaded, verified or written')
    .action(async (imageArg: string | undefined, _flags: BuildFlags & GlobalFlags, self: Command) => {
      // The config file fills in before run(): its run-id, quiet and verbose count too. Its errors surface inside.
      let config: ReturnType<typeof applyConfigFile> | Error;
      try {
        config = applyConfigFile(self, (self.opts() as { config?: string }).config);
      } catch (err) {
        config = err as Error;
      }
      const flags = self.opts() as BuildFlags & GlobalFlags;
      await run(reportingFailures(flags, async (ctx, failure) => {
        if (config instanceof Error) throw config;
        const applied = config;
        // A bad value the file gave is said where it was written.
        const inFile = <T>(check: () => T): T => {
          try {
            return check();
          } catch (err) {
            throw placeConfigError(err, self, applied);
          }
        };
        const inFileAsync = (check: Promise<void>): Promise<void> => check.catch((err: unknown) => {
          throw placeConfigError(err, self, applied);
        });
        const image = imageArg ?? config.image;
        await failure.begin(image ?? null);
        if (!image) throw new UsageError('slim build needs an IMAGE (as an argument, or `image:` in slim.yaml)');
        const opts = inFile(() => {
          const { platform } = registryInputOf(flags as { platform?: string });
          checkInputRef(image);
          return { ...toBuildOptions(image, flags), ...(platform ? { platform } : {}) };
        });
        const { html } = flags as { html?: string };
        await inFileAsync(checkFileFlags({ '--html': html, '--sbom': opts.sbomOut, '--seccomp-out': opts.harden?.seccompOut, '--trace-out': flags.traceOut }, { '--trace': flags.trace }));
        if (config.file) ctx.log.info(`options from ${config.file}`);
        const { build } = await import('../../pipeline/build.js');
        if (opts.dryRun) {
          const ignored = [...(flags.output ?? []).map((o) => `-o ${o}`), ...((flags as { html?: string }).html ? ['--html'] : []), ...(flags.sbom ? ['--sbom'] : []), ...(flags.seccompOut ? ['--seccomp-out'] : [])];
          if (ignored.length) ctx.log.warn(`--dry-run: ${ignored.join(', ')} not written`);
          return dryRun(await build(opts, ctx, failure.clock), flags, failure, self.optsWithGlobals<GlobalFlags>().quiet ?? false);
        }
        const { checkRegistries } = await import('../../pipeline/publish.js');
        // Before the engine is touched: a registry output that cannot take the push fails now, not after the build.
        await checkRegistries(opts.outputs.flatMap((o) => (o.kind === 'registry' ? [o.ref] : [])), opts.registry, ctx.log, ctx.scope.signal);
        const { quietLine, renderText } = await import('../../report/report.js');
        const report = await build(opts, ctx, failure.clock);
        if (report.status === 'dry-run') throw new InternalError('a build without --dry-run returned a dry-run report');
        const json = JSON.stringify(report, null, 2);
        if (flags.report) await failure.writeReport(json);
        if (html) {
          const [{ renderBuildHtml }, { writeHtml }] = await Promise.all([import('../../report/html/build.js'), import('../../report/write-html.js')]);
          await writeHtml(html, renderBuildHtml(report));
        }
        if (flags.json) process.stdout.write(json + '\n');
        await appendStepSummary(report, process.env, ctx.log.warn);
        // -q is the program's flag: the command's own options do not hold it.
        const { quiet } = self.optsWithGlobals<GlobalFlags>();
        process.stderr.write((quiet ? quietLine(report) : renderText(report)) + '\n');
        return report.status === 'ok' ? ExitCode.ok : report.status === 'over-budget' ? ExitCode.overBudget : ExitCode.verifyFailed;
      }), flags);
    });
}

/** A dry run's report: on stdout with --json, in --report FILE, and said in text (one line with -q). */
async function dryRun(report: BuildReport | DryRunReport, flags: BuildFlags & GlobalFlags, failure: Failure, quiet: boolean): Promise<number> {
  if (report.status !== 'dry-run') throw new InternalError('a dry run returned the report of a build');
  const json = JSON.stringify(report, null, 2);
  if (flags.report) await failure.writeReport(json);
  if (flags.json) process.stdout.write(json + '\n');
  const { dryRunQuietLine, renderDryRun } = await import('../../report/dry-run.js');
  process.stderr.write((quiet ? dryRunQuietLine(report) : renderDryRun(report)) + '\n');
  return ExitCode.ok;
}
