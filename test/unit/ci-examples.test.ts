import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildCommand } from '../../src/cli/commands/build.js';

const read = (f: string) => readFileSync(fileURLToPath(new URL(`../../examples/ci/${f}`, import.meta.url)), 'utf8');

/** The shell stage runs for real in the integration tests; these keep the other examples pointing at it, with flags slim has. */
describe('CI examples', () => {
  it('the shell stage uses only flags `slim build` has', () => {
    const known = new Set(buildCommand(async () => {}).options.map((o) => o.long));
    const line = read('slim-stage.sh').split('\n').find((l) => l.startsWith('set -- build'))!;
    const flags = line.match(/--[a-z-]+/g)!;
    expect(flags.length).toBeGreaterThan(2);
    for (const f of flags) expect(known, f).toContain(f);
  });

  it.each(['github-actions.yml', 'gitlab-ci.yml'])('%s is valid YAML that runs the shell stage and keeps the report', (file) => {
    const doc = parse(read(file)) as Record<string, unknown>;
    const text = JSON.stringify(doc);
    expect(text).toContain('sh ci/slim-stage.sh');
    expect(text).toContain('SLIM_REGISTRY_PASSWORD');
    expect(text).toContain('slim-report.json');
  });
});
