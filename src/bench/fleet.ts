import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetReport } from '../fleet/fleet-build.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A fixture of the fleet: its image and its options as slim-fleet.yaml lines (its checks). */
export interface FleetCase {
  name: string;
  image: string;
  lines: string[];
}

/** What `docker save` of all the originals at once writes: each distinct layer once, as a node pulls and a registry stores them. */
function savedBytes(images: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    child.stdout.on('data', (c: Buffer) => (n += c.length));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`docker save exited ${code}`))));
  });
}

/**
 * Section 7: the fixtures as a fleet. Bytes a node pulls to run them all (the same bytes a
 * registry stores: each distinct blob once) for (a) the originals, (b) slim's single-layer
 * images, (c) fleet mode; and each image's own size in (b) and (c).
 */
export async function fleetBench(cases: FleetCase[], work: string, say: (s: string) => void): Promise<void> {
  const file = join(work, 'slim-fleet.yaml');
  await writeFile(file, ['options:', '  network: host', 'share:', '  min-savings: 100kB', 'images:', ...cases.flatMap((c) => [`  - image: ${c.image}`, `    tag: slim-bench/fleet-${c.name}:1`, ...c.lines.map((l) => `    ${l}`)])].join('\n'));
  const t = Date.now();
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [CLI, 'fleet', 'build', file, '--json'], { maxBuffer: 64 << 20 }, (err, out, errText) => (err ? reject(new Error(`slim fleet build failed: ${errText.trim().split('\n').slice(-3).join(' / ')}`)) : resolve(out))),
  );
  const seconds = (Date.now() - t) / 1000;
  const r = JSON.parse(stdout) as FleetReport;
  const original = await savedBytes(cases.map((c) => c.image));
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  say(`  ${cases.length} images, ${r.shared.length} shared layers (${r.why}), fleet build ${seconds.toFixed(0)} s`);
  say(`  a node running all of them pulls (the registry stores the same distinct blobs):`);
  say(`    (a) originals     ${mb(original).padStart(10)} (docker save of all: distinct layers, uncompressed)`);
  say(`    (b) single-layer  ${mb(r.pull.singleTar).padStart(10)} uncompressed, ${mb(r.pull.single)} gzip   ${(original / r.pull.singleTar).toFixed(1)}x less than (a)`);
  say(`    (c) fleet         ${mb(r.pull.fleetTar).padStart(10)} uncompressed, ${mb(r.pull.fleet)} gzip   ratio to (b) ${(r.pull.fleetTar / r.pull.singleTar).toFixed(2)}x uncompressed, ${(r.pull.fleet / r.pull.single).toFixed(2)}x gzip`);
  for (const im of r.images) {
    say(`    ${im.image}: (b) ${mb(im.single.layerBytes)} gzip, ${im.single.files} files; (c) ${mb(im.layered.layerBytes)} gzip in ${im.layered.layers.length} layers, ${im.layered.verify}`);
  }
  await new Promise<void>((resolve) => execFile('docker', ['rmi', ...cases.map((c) => `slim-bench/fleet-${c.name}:1`)], () => resolve()));
}
