import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag, hasImage } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

// shell-job with its people.csv excluded: the slim job still exits 0, but cut says on stderr that
// the file is missing and stdout differs. That message is what a user needs to see.
const IMAGE = fixtureTag('shell-job');
const BROKEN = ['--exclude', '/data/people.csv', '--no-repair'];
const MISSING = 'cut: /data/people.csv: No such file or directory';
const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-failed-image-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});


describe('a slim image that fails verification', () => {
  it('the summary and the report show the last lines its container printed next to the original\'s; nothing is kept', async () => {
    const tag = `slim-test/shell-job:failed-out-${freePort()}`;
    const r = await runSlim(['build', IMAGE, '--tag', tag, ...BROKEN, '--json']);
    expect(r.code, r.stderr).toBe(3);
    const out = r.report!.verify.output!;
    expect(out.slim).toContain(MISSING);
    expect(out.slim).toContain('ids: ');
    expect(out.slim.length).toBeLessThanOrEqual(10);
    // The original's last lines end with the report's tail, and never the error.
    expect(out.original.at(-1)).toMatch(/^checksum: [0-9a-f]{16}$/);
    expect(out.original.some((l) => l.startsWith('names: '))).toBe(true);
    expect(out.original).not.toContain(MISSING);
    // The summary on stderr: both blocks, the slim image's first.
    const s = r.stderr;
    const slimAt = s.indexOf("output   the slim image's container, last");
    const origAt = s.indexOf("output   the original's, same checks, last");
    expect(slimAt, s).toBeGreaterThan(0);
    expect(origAt).toBeGreaterThan(slimAt);
    expect(s.slice(slimAt, origAt)).toContain(`| ${MISSING}`);
    expect(s.slice(origAt)).toMatch(/\| checksum: [0-9a-f]{16}/);
    // Without --keep-failed the failed image is gone, under any name.
    expect(r.report!.output.keptFailed).toBeUndefined();
    expect(hasImage(`${tag}-failed`)).toBe(false);
    expect(hasImage(r.report!.output.id)).toBe(false);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a passing build carries no output lines', async () => {
    const tag = `slim-test/shell-job:failed-ok-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['build', IMAGE, '--tag', tag, '--no-repair', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.verify).not.toHaveProperty('output');
    expect(r.stderr).not.toMatch(/output {3}the slim image/);
  });

  it('--keep-failed (here from slim.yaml) keeps it as <tag>-failed, says so, and still exits 3', async () => {
    const tag = `slim-test/shell-job:failed-kept-${freePort()}`;
    const kept = `${tag}-failed`;
    madeTags.push(kept);
    const config = join(work, 'slim.yaml');
    writeFileSync(config, `image: ${IMAGE}\ntag: ${tag}\nkeep-failed: true\nexclude: [/data/people.csv]\nrepair: false\n`);
    const r = await runSlim(['build', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.report!.status).toBe('verify-failed');
    expect(r.report!.output.keptFailed).toBe(kept);
    expect(r.report!.output.ref).toBeNull();
    expect(r.stderr).toContain(`--keep-failed: the failed slim image is kept as ${kept}`);
    expect(r.stderr).toContain(`kept     the failed slim image as ${kept}`);
    // The very image that failed, and it fails the same way when run by hand.
    const inspected = JSON.parse(docker(['image', 'inspect', kept]))[0];
    expect(inspected.Id).toBe(r.report!.output.id);
    expect(hasImage(tag)).toBe(false);
    const ran = docker(['run', '--rm', kept]);
    expect(ran).toMatch(/^ids: *$/m);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('--keep-failed after repair rounds: the last round\'s image is the one kept', async () => {
    const tag = `slim-test/shell-job:failed-repaired-${freePort()}`;
    madeTags.push(`${tag}-failed`);
    const r = await runSlim(['build', IMAGE, '--tag', tag, '--exclude', '/data/people.csv', '--repair-rounds', '1', '--keep-failed', '--json']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.report!.repair).toMatchObject({ result: 'failed', rounds: 1 });
    expect(r.report!.verify.output!.slim).toContain(MISSING);
    expect(JSON.parse(docker(['image', 'inspect', `${tag}-failed`]))[0].Id).toBe(r.report!.output.id);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('-q: the one failure line names the kept image', async () => {
    const tag = `slim-test/shell-job:failed-q-${freePort()}`;
    madeTags.push(`${tag}-failed`);
    const r = await runSlim(['-q', 'build', IMAGE, '--tag', tag, ...BROKEN, '--keep-failed']);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^slim: FAILED to verify .*; kept as ${tag.replace(/[/.]/g, '\\$&')}-failed$`));
    expect(hasImage(`${tag}-failed`)).toBe(true);
  });
});
