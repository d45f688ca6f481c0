import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, uniqueSource } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-ci-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

describe('slim as a CI stage', () => {
  it('takes its options from slim.yaml; a size budget it breaks exits 4 and publishes nothing; a flag overrides the file', async () => {
    const port = freePort();
    const tag = `slim-test/static-bin:budget-${port}`;
    const source = uniqueSource('static-bin', port);
    madeTags.push(tag, source);
    const config = join(work, 'slim.yaml');
    writeFileSync(config, [
      `image: ${source}`,
      `tag: ${tag}`,
      'network: host',
      `env: [PORT=${port}]`,
      `http-port: ${port}`,
      'http-probe: [GET /]',
      'max-size: 100kB',
      'min-reduction: 10x',
    ].join('\n'));
    const over = await runSlim(['build', '--config', config, '--json']);
    expect(over.code, over.stderr).toBe(4);
    expect(over.report!.status).toBe('over-budget');
    expect(over.report!.budget.broken).toEqual([expect.stringMatching(/ is over --max-size 100\.0 kB$/)]);
    expect(over.stderr).toMatch(/options from .*slim\.yaml/);
    expect(over.stderr).toMatch(/built, but OVER BUDGET/);
    expect(() => docker(['image', 'inspect', tag])).toThrow();
    expect(() => docker(['image', 'inspect', over.report!.output.id])).toThrow();
    expect(leftovers(over.runId)).toEqual({ containers: [], volumes: [] });

    const fits = await runSlim(['build', '--config', config, '--max-size', '5MB', '--json']);
    expect(fits.code, fits.stderr).toBe(0);
    expect(fits.report!.budget).toEqual({ maxSize: 5e6, minReduction: 10, broken: [] });
    expect(docker(['image', 'inspect', tag])).toContain(fits.report!.output.id);
  });

  it('a config file with an unknown option is a usage error naming it', async () => {
    const config = join(work, 'bad.yaml');
    writeFileSync(config, `image: ${fixtureTag('static-bin')}\nsmoke-test: curl x\n`);
    const r = await runSlim(['build', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slim: error: .*bad\.yaml:2:1: unknown option "smoke-test"/);
  });
});
