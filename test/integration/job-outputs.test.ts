import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages, requireEngine } from '../helpers/engine.js';
import { fixtureTag, hasImage, uniqueSource } from '../helpers/fixtures.js';
import { freePort, runSlim, type SlimRun } from '../helpers/slim.js';

// A job's results are in its mounts and volumes, not only on stdout: they are compared by default,
// and every run works on its own copy of what the user mounted.
requireEngine();
const IMAGE = fixtureTag('tz-job');
const NO_ZONE = ['--exclude', '/usr/share/zoneinfo/America/**'];
const work = mkdtempSync(join(tmpdir(), 'slim-job-outputs-'));
const madeTags: string[] = [];
const madeVolumes: string[] = [];
afterAll(() => {
  removeImages(madeTags);
  for (const v of madeVolumes) docker(['volume', 'rm', '-f', v]);
  rmSync(work, { recursive: true, force: true });
});

/** slim build with a TMPDIR of its own, which must be empty again afterwards. */
async function build(image: string, tag: string, args: string[]): Promise<SlimRun> {
  const tmp = mkdtempSync(join(work, 'tmp-'));
  const r = await runSlim(['build', image, '--tag', tag, '--no-repair', '--json', ...args], { env: { TMPDIR: tmp } });
  expect(readdirSync(tmp), 'temp dirs left behind').toEqual([]);
  expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  return r;
}

/** A directory's entries with their mode and content: what "unchanged" means. */
function snapshot(dir: string): string[] {
  return readdirSync(dir).sort().map((n) => `${n} ${(statSync(join(dir, n)).mode & 0o7777).toString(8)} ${readFileSync(join(dir, n), 'utf8')}`);
}

function outputCheck(r: SlimRun) {
  return r.report!.verify.checks.find((c) => c.name === 'output /out');
}

describe('job outputs compared by default', () => {
  it('a bind-mounted host directory: compared, and left as it was', async () => {
    const host = join(work, 'host-pass');
    mkdirSync(host);
    writeFileSync(join(host, 'marker.txt'), 'keep me\n');
    chmodSync(join(host, 'marker.txt'), 0o600);
    const before = snapshot(host);
    const tag = `slim-test/tz-job:bind-${freePort()}`;
    madeTags.push(tag);
    const r = await build(IMAGE, tag, ['--probe', 'strace', '-v', `${host}:/out`]);
    expect(r.code, r.stderr).toBe(0);
    // The directory, the marker, when.txt, zone.txt and private.txt.
    expect(outputCheck(r)).toMatchObject({ original: 'pass', slim: 'pass', detail: 'the same 5 entries' });
    expect(snapshot(host)).toEqual(before);
    expect(hasImage(tag)).toBe(true);
  });

  it('a bind-mounted host directory: a slim image without the zone fails, naming the file', async () => {
    const host = join(work, 'host-fail');
    mkdirSync(host);
    const source = uniqueSource('tz-job', `bind-fail-${freePort()}`);
    madeTags.push(source);
    const tag = `slim-test/tz-job:bind-fail-${freePort()}`;
    const r = await build(source, tag, ['--probe', 'strace', '-v', `${host}:/out`, ...NO_ZONE]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.report!.verify.details.slim).toMatch(/^output \/out: \/out\/when\.txt differs \(content/);
    expect(r.stderr).toMatch(/\/out\/when\.txt differs/);
    expect(outputCheck(r)).toMatchObject({ original: 'pass', slim: 'fail' });
    expect(hasImage(tag)).toBe(false);
    expect(readdirSync(host)).toEqual([]);
  });

  it("a named volume: each run gets a fresh copy; the user's volume keeps its content", async () => {
    const name = `slim-test-tz-out-${freePort()}`;
    madeVolumes.push(name);
    docker(['volume', 'create', name]);
    docker(['run', '--rm', '--network', 'none', '-v', `${name}:/v`, 'debian:bookworm', 'sh', '-c', 'echo seed > /v/seed.txt && chmod 0604 /v/seed.txt && chown 7:7 /v/seed.txt']);
    const listing = () => docker(['run', '--rm', '--network', 'none', '-v', `${name}:/v`, 'debian:bookworm', 'sh', '-c', 'cd /v && ls -lnA --time-style=+ . && cat seed.txt']);
    const before = listing();
    const tag = `slim-test/tz-job:volume-${freePort()}`;
    madeTags.push(tag);
    const r = await build(IMAGE, tag, ['-v', `${name}:/out`]);
    expect(r.code, r.stderr).toBe(0);
    // The seed (with its owner and mode, else the runs would differ from what the job sees) and the three outputs.
    expect(outputCheck(r)).toMatchObject({ original: 'pass', slim: 'pass', detail: 'the same 5 entries' });
    expect(listing()).toBe(before);
    expect(before).toMatch(/-rw----r-- 1 7 7 5 +seed\.txt/);
    // The fresh volumes carried the run's label and are gone (checked in build()); none other was made for the run.
    expect(docker(['volume', 'ls', '-q', '--filter', `name=${r.runId}`]).trim()).toBe('');
  });

  it("the image's own VOLUME, with no -v: compared too, and a missing zone fails", async () => {
    const tag = `slim-test/tz-job:image-volume-${freePort()}`;
    madeTags.push(tag);
    const ok = await build(IMAGE, tag, []);
    expect(ok.code, ok.stderr).toBe(0);
    expect(outputCheck(ok)).toMatchObject({ original: 'pass', slim: 'pass', detail: 'the same 4 entries' });

    const source = uniqueSource('tz-job', `volume-fail-${freePort()}`);
    madeTags.push(source);
    const failTag = `slim-test/tz-job:image-volume-fail-${freePort()}`;
    const bad = await build(source, failTag, NO_ZONE);
    expect(bad.code, bad.stderr).toBe(3);
    expect(bad.report!.verify.details.slim).toMatch(/^output \/out: \/out\/when\.txt differs \(content/);
    expect(hasImage(failTag)).toBe(false);
  });
});
