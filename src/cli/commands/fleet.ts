import { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { parsePlanFile } from '../../fleet/fleet-plan.js';
import type { SharePlanOptions } from '../../fleet/share-plan.js';
import { parseSize } from '../../pipeline/budget.js';
import { parseOutputRef } from '../../sinks/output.js';
import { collect } from './run-options.js';
import { toBuildOptions, type BuildFlags } from '../options.js';
import { readFleetFile, parseImageFlags } from '../fleet-file.js';
import { buildCommand } from './build.js';
import type { FleetReport } from '../../fleet/fleet-build.js';

interface FleetFlags {
  json?: boolean;
  singles?: string;
  report?: string;
}

export function fleetCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  const fleet = new Command('fleet').description('many images slimmed together: the files they keep identically in shared layers');
  fleet
    .command('build')
    .description('build each image of FILE as slim build does, then factor what they keep identically into shared layers; each image is verified again as [shared…, own] and published')
    .argument('[file]', 'the fleet file', 'slim-fleet.yaml')
    .option('--json', 'print the fleet report as JSON on stdout')
    .option('--report <file>', 'write the fleet report as JSON to this file')
    .option('--run-id <id>', 'label value for everything this run creates in the engine (io.slim.run=ID; each image\'s build gets ID-N); default: random')
    .option('--singles <dir>', 'also write each image\'s single-layer build there, as DIR/N.tar (docker-archive, tagged NAME-single), to compare')
    .action(async (file: string, flags: FleetFlags & GlobalFlags) => {
      await run(async (ctx) => {
        // Every image's options are checked, by slim build's own flags, before any image is read.
        const fleetFile = readFleetFile(file, () => buildCommand(async () => {}));
        const members = fleetFile.images.map((img, i) => ({ image: img.image, opts: toBuildOptions(img.image, parseImageFlags<BuildFlags & GlobalFlags>(buildCommand(async () => {}), img, `${file}: images[${i}]`)) }));
        const { fleetBuild } = await import('../../fleet/fleet-build.js');
        const report = await fleetBuild(members, fleetFile.share, ctx, flags.singles ? { singlesDir: flags.singles } : {});
        const json = JSON.stringify(report, null, 2);
        if (flags.report) await writeFile(flags.report, json + '\n');
        if (flags.json) process.stdout.write(json + '\n');
        process.stderr.write(renderFleet(report) + '\n');
        return report.status === 'ok' ? ExitCode.ok : ExitCode.verifyFailed;
      }, flags);
    });
  fleet
    .command('plan')
    .description('fan-in: read slim images pushed by separate jobs, with their evidence, from the registry; choose the shared layers; write the plan the fan-out jobs pack with')
    .argument('<refs...>', 'the slim images, HOST/REPO:TAG (a leading registry: is allowed), each pushed by slim build with its evidence')
    .requiredOption('-o, --out <file>', 'where the plan is written (JSON)')
    .option('--strategy <how>', 'auto, one-base or tree', 'auto')
    .option('--min-savings <size>', 'a shared layer must save this much across the fleet', '1MB')
    .option('--max-shared <n>', 'at most this many shared layers under one image', '3')
    .option('--insecure-registry <host>', 'speak plain HTTP to this registry host (loopback hosts always are) (repeatable)', collect, [])
    .action(async (refs: string[], flags: PlanFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const share = shareOptions(flags);
        const { planFromRegistry } = await import('../../fleet/fleet-plan.js');
        const plan = await planFromRegistry(refs, share, { log: ctx.log, scope: ctx.scope, insecure: flags.insecureRegistry });
        await writeFile(flags.out, JSON.stringify(plan, null, 2) + '\n');
        process.stderr.write(`slim fleet plan: ${plan.images.length} images, ${plan.shared.length} shared layers (${plan.why}); written to ${flags.out}\n`);
        return ExitCode.ok;
      }, flags);
    });
  fleet
    .command('pack')
    .description('fan-out: pack one image of a plan as [shared…, own] (its shared layers the digests the plan says) and publish it')
    .argument('<ref>', 'the image as the plan names it (HOST/REPO:TAG)')
    .requiredOption('--plan <file>', 'the plan slim fleet plan wrote')
    .option('--from <image>', 'take the files from the original the image was slimmed from (an image in the engine, a file, registry:…), checked against the plan, instead of from the slim image in the registry')
    .option('-o, --output <dest>', 'where the layered image goes (repeatable): registry:HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, docker', collect, [])
    .option('-t, --tag <name>', 'its name (the default tag of registry outputs); default: REF with -fleet after its tag')
    .option('--insecure-registry <host>', 'speak plain HTTP to this registry host (loopback hosts always are) (repeatable)', collect, [])
    .option('--json', 'print what was packed and published as JSON')
    .action(async (ref: string, flags: PackFlags & GlobalFlags) => {
      await run(async (ctx) => {
        if (!flags.output.length) throw new UsageError('slim fleet pack needs at least one -o');
        const outputs = flags.output.map(parseOutputRef);
        const plan = parsePlanFile(await readFile(flags.plan, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read --plan ${flags.plan}: ${err.code ?? err.message}`);
        }), flags.plan);
        const { fleetPack } = await import('../../fleet/fleet-pack.js');
        const bare = ref.replace(/^registry:/, '');
        const name = flags.tag ?? (/:[^/]+$/.test(bare) ? `${bare}-fleet` : `${bare}:fleet`);
        const r = await fleetPack(plan, ref, outputs, name, { insecure: flags.insecureRegistry, attach: false }, ctx, flags.from);
        if (flags.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        process.stderr.write(`slim fleet packed ${r.ref} as ${r.layers.length} layers (${r.layers.filter((l) => l.shared).length} shared): ${r.manifestDigest}\n${r.published.written.map((w) => `  written ${w}\n`).join('')}`);
        return ExitCode.ok;
      }, flags);
    });
  return fleet;
}

interface PlanFlags {
  out: string;
  strategy: string;
  minSavings: string;
  maxShared: string;
  insecureRegistry: string[];
}

interface PackFlags {
  plan: string;
  from?: string;
  output: string[];
  tag?: string;
  insecureRegistry: string[];
  json?: boolean;
}

function shareOptions(f: PlanFlags): SharePlanOptions {
  if (!['auto', 'one-base', 'tree'].includes(f.strategy)) throw new UsageError(`--strategy must be auto, one-base or tree, not "${f.strategy}"`);
  const maxShared = Number(f.maxShared);
  if (!Number.isInteger(maxShared) || maxShared < 1 || maxShared > 16) throw new UsageError('--max-shared must be a whole number from 1 to 16');
  return { strategy: f.strategy as SharePlanOptions['strategy'], maxShared, minSavings: parseSize('--min-savings', f.minSavings) };
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function renderFleet(r: FleetReport): string {
  const lines = [`slim fleet built ${r.images.length} images: ${r.status === 'ok' ? 'every one passed its checks as layers' : 'NOT every image passed its checks'}`, `  sharing  ${r.why}`];
  r.shared.forEach((s, n) => lines.push(`  shared ${n + 1} ${mb(s.size)} gzip, ${s.files} files (${mb(s.bytes)}), ${s.digest.slice(7, 19)}: ${s.images.join(', ')}`));
  for (const im of r.images) {
    lines.push(`  ${im.layered.verify === 'pass' ? 'pass' : 'FAIL'}     ${im.image}: ${im.layered.layers.length} layers, ${mb(im.layered.layerBytes)} (single layer ${mb(im.single.layerBytes)}), its own ${im.layered.ownFiles} entries${im.layered.verify === 'pass' ? '' : `: ${im.layered.summary}`}`);
    for (const w of im.layered.written) lines.push(`           written ${w}`);
  }
  const ratio = r.pull.fleet > 0 ? r.pull.single / r.pull.fleet : 1;
  lines.push(`  pull     a node running all: ${mb(r.pull.fleet)} (single layers ${mb(r.pull.single)}, ${ratio.toFixed(2)}x)`);
  return lines.join('\n');
}
