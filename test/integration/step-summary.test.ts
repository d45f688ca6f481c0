import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

const IMAGE = fixtureTag('tz-job');
const work = mkdtempSync(join(tmpdir(), 'slim-step-summary-'));
const madeTags: string[] = [];
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

/** A file as GitHub Actions hands each step: it may already hold what earlier steps wrote. */
function summaryFile(name: string): string {
  const file = join(work, name);
  writeFileSync(file, '## earlier step\n');
  return file;
}

describe('$GITHUB_STEP_SUMMARY', () => {
  it('a build appends its result, sizes, checks, repair and timings as Markdown', async () => {
    const file = summaryFile('built.md');
    const tag = `slim-test/tz-job:summary-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', IMAGE, '--tag', tag, '--json'], { env: { GITHUB_STEP_SUMMARY: file } });
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(file, 'utf8');
    expect(md.startsWith('## earlier step\n### ✅ slim: built `' + tag + '` from `' + IMAGE + '`\n')).toBe(true);
    expect(md).toMatch(/\n\| size \| \d+\.\d MB \| \d+\.\d MB \| \d+\.\dx smaller \|\n/);
    expect(md).toMatch(/\n\| files \| \d+ \| \d+ \| \d+\.\dx fewer \|\n/);
    expect(md).toContain('| check | original | slim | detail |');
    for (const c of r.report!.verify.checks) expect(md).toContain(`| ${c.name} | ${c.original} | ${c.slim} |`);
    expect(md).toMatch(/\n\*\*Timings:\*\* read \d+\.\d s · probe \d+\.\d s · .*total \d+\.\d s\n/);
    expect(md).toContain(`- written \`docker:${tag}\``);
  });

  it('a slim image that fails verification: the failing check and the repair result', async () => {
    const file = summaryFile('failed.md');
    const r = await runSlim(['build', IMAGE, '--tag', `slim-test/tz-job:summary-fail-${freePort()}`, '--exclude', '/usr/share/zoneinfo/America/**', '--repair-rounds', '1'], { env: { GITHUB_STEP_SUMMARY: file } });
    expect(r.code, r.stderr).toBe(3);
    const md = readFileSync(file, 'utf8');
    expect(md).toContain(`### ❌ slim: the slim image of \`${IMAGE}\` failed verification: nothing written or tagged`);
    expect(md).toMatch(/\n\| output \/out \| pass \| \*\*fail\*\* \| \/out\/when\.txt differs/);
    expect(md).toMatch(/\n\*\*Repair:\*\* failed after 1 round/);
  });

  it('a build that stops with an error: its code, message and hint', async () => {
    const file = summaryFile('error.md');
    const r = await runSlim(['build', 'slim-test/does-not-exist:1', '--smoke', 'true'], { env: { GITHUB_STEP_SUMMARY: file } });
    expect(r.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toMatch(/^## earlier step\n### ❌ slim: the build of `slim-test\/does-not-exist:1` failed \(`IMAGE_NOT_FOUND`\)\n\nimage slim-test\/does-not-exist:1 is not in the engine\n\n> hint: build or pull it first.*\n\n\*\*Timings:\*\* .*total \d+\.\d s\n\n$/);
  });
});
