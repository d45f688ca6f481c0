import type { Runtime } from '../runtime/runtime.js';
import { formatBytes } from '../report/report.js';
import { timedBuild, type WallCase } from './build-wall.js';

export interface RebuildCase extends WallCase {
  target: string;
}

/**
 * The slim image with and without `--rebuild TARGET`: sizes as a ratio, and the extra wall time.
 * The rebuilt build runs twice: the first may build the helper image (once per version), the
 * second is what every later build of that version costs.
 */
export async function rebuildBench(cases: RebuildCase[], port: () => number, runtime: Runtime, say: (s: string) => void): Promise<void> {
  say('  fixture        target  whole-file    rebuilt   ratio   build   +rebuild  (first, helper built if absent)');
  for (const c of cases) {
    const tags: string[] = [];
    const run = async (more: string[], label: string) => {
      const p = port();
      const tag = `slim-bench/${c.name}:${label}-${p}`;
      tags.push(tag);
      return timedBuild([c.image, '--tag', tag, ...c.args.map((a) => a.replaceAll('{port}', String(p))), ...more]);
    };
    try {
      const whole = await run([], 'whole');
      const first = await run(['--rebuild', c.target], 'rebuild1');
      const again = await run(['--rebuild', c.target], 'rebuild2');
      const step = again.report.rebuild?.find((r) => r.target === c.target);
      if (!step?.applied) {
        say(`  ${c.name.padEnd(14)} ${c.target.padEnd(7)} not applied: ${step?.reason ?? 'no rebuild in the report'}`);
        continue;
      }
      const f = (n: number) => `${n.toFixed(1)} s`.padStart(8);
      say(`  ${c.name.padEnd(14)} ${c.target.padEnd(7)} ${formatBytes(whole.report.output.size).padStart(10)} ${formatBytes(again.report.output.size).padStart(10)} ${(again.report.output.size / whole.report.output.size).toFixed(2).padStart(6)}x ${f(whole.seconds)} ${f(again.seconds - whole.seconds)}   (${f(first.seconds - whole.seconds).trim()})`);
    } finally {
      for (const t of tags) await runtime.removeTag(t).catch(() => {});
    }
  }
}
