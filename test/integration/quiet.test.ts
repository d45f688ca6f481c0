import { afterAll, describe, expect, it } from 'vitest';
import { leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

const IMAGE = fixtureTag('tz-job');
const madeTags: string[] = [];
afterAll(() => removeImages(madeTags));

const SIZE = String.raw`\d+(\.\d+)? (B|kB|MB|GB)`;

describe('slim build -q', () => {
  it('prints the one line of the result instead of the summary', async () => {
    const tag = `slim-test/tz-job:quiet-${freePort()}`;
    madeTags.push(tag);
    const r = await runSlim(['-q', 'build', IMAGE, '--tag', tag]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(String.raw`^slim: built ${tag.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \(${SIZE} → ${SIZE}, \d+(\.\d)?x\) in \d+\.\d s$`));
    expect(r.stdout).toBe('');
  });

  it('after the command too, and a slim image that fails verification is its one failure line', async () => {
    const tag = `slim-test/tz-job:quiet-fail-${freePort()}`;
    const r = await runSlim(['build', IMAGE, '--tag', tag, '--exclude', '/usr/share/zoneinfo/America/**', '--no-repair', '-q']);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(String.raw`^slim: FAILED to verify the slim image of ${IMAGE.replace(/[/.]/g, '\\$&')} \(in \d+\.\d s\): output /out: /out/when\.txt differs`));
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });
});
