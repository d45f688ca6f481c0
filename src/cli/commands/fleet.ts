import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode } from '../../errors.js';
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
  return fleet;
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
