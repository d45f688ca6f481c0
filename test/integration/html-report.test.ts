import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { colourCounts, decodePng, shareNear, type Png } from '../helpers/png.js';

const scratch = mkdtempSync(join(tmpdir(), 'slim-html-test-'));
const madeTags: string[] = [];
afterAll(() => {
  removeImages(madeTags);
  rmSync(scratch, { recursive: true, force: true });
});

/** The README's screenshot is this test's own, written when asked: SLIM_WRITE_DOCS=1. */
const DOCS_SHOT = fileURLToPath(new URL('../../docs/html-report.png', import.meta.url));
const WINDOW = '1280,2000';

let profiles = 0;
/** Headless Chromium on a file: a profile of its own per run, so that runs in parallel never share one. */
function chromium(args: string[]): string {
  const profile = join(scratch, `profile-${++profiles}`);
  return execFileSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function render(file: string): { dom: string; png: Png; shot: string } {
  const shot = file.replace(/\.html$/, '.png');
  chromium([`--screenshot=${shot}`, `--window-size=${WINDOW}`, `file://${file}`]);
  return { dom: chromium(['--dump-dom', `file://${file}`]), png: decodePng(readFileSync(shot)), shot };
}

/** Not a blank page: many colours, and a good share of the page drawn in something other than the background. */
function expectDrawn(png: Png): void {
  expect(png.width).toBe(1280);
  expect(png.height).toBe(2000);
  const counts = colourCounts(png);
  expect(counts.size).toBeGreaterThan(50);
  const background = Math.max(...counts.values());
  expect(1 - background / (png.width * png.height)).toBeGreaterThan(0.2);
}

/** The file names no other resource: nothing to fetch, no link out. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/https?:/i);
  expect(html).not.toContain('//');
  expect(html).not.toMatch(/<script|<link|<img|<iframe|\burl\(|@import|\ssrc=/i);
}

beforeAll(() => {
  try {
    execFileSync('chromium', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('these tests render pages in headless Chromium: apt-get install -y chromium');
  }
});

describe('--html: one self-contained page per report, as a browser draws it', () => {
  const image = fixtureTag('python-http');
  const port = freePort();
  const tag = `slim-test/python-http:html-${port}`;

  it('slim build --html: a treemap of the original, kept and removed, and the checks on both images', async () => {
    madeTags.push(tag);
    const out = join(scratch, 'build.html');
    const smoke = `curl -fsS --max-time 5 http://127.0.0.1:${port}/health | grep -q ok`;
    const r = await runSlim(['build', image, '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', smoke, '--json', '--html', out]);
    expect(r.code, r.stderr).toBe(0);
    const rep = r.report!;
    expect(rep.sizes!.dirs.kept + rep.sizes!.dirs.removed).toBeGreaterThan(0);
    const html = readFileSync(out, 'utf8');
    expectSelfContained(html);

    const { dom, png, shot } = render(out);
    const treemap = dom.match(/<svg class="treemap"[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect((treemap.match(/<rect class="cell kept"/g) ?? []).length).toBeGreaterThan(3);
    expect((treemap.match(/<rect class="cell removed"/g) ?? []).length).toBeGreaterThan(10);
    const checks = dom.match(/<table class="checks">[\s\S]*?<\/table>/)?.[0] ?? '';
    expect(checks).toContain('<th>check</th><th>original</th><th>slim</th><th>detail</th>');
    expect((checks.match(/<tr>/g) ?? []).length).toBe(rep.verify.checks.length + 1);
    expect(checks).toContain('HEALTHCHECK');
    for (const id of ['repair', 'harden', 'timings', 'closure', 'packages']) expect(dom).toContain(`<section id="${id}">`);

    expectDrawn(png);
    // The treemap is at the top of the page: the screenshot shows both of its colours.
    expect(shareNear(png, '#2f8f5b')).toBeGreaterThan(0.005);
    expect(shareNear(png, '#d98b7e')).toBeGreaterThan(0.05);
    if (process.env.SLIM_WRITE_DOCS === '1') copyFileSync(shot, DOCS_SHOT);
  });

  it('slim inspect --html: layers as bars with their instructions, the largest directories as a treemap', async () => {
    const out = join(scratch, 'inspect.html');
    const r = await runSlim(['inspect', image, '--json', '--html', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { layers: unknown[]; setid: unknown[] };
    const html = readFileSync(out, 'utf8');
    expectSelfContained(html);

    const { dom, png } = render(out);
    const bars = dom.match(/<svg class="bars"[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect((bars.match(/<g>/g) ?? []).length).toBe(report.layers.length);
    expect(bars).toContain('apt-get install');
    expect(dom).toMatch(/<svg class="treemap"[\s\S]*?<rect class="cell bar"/);
    for (const id of ['wasted', 'dirs', 'packages', 'tools', 'setid']) expect(dom).toContain(`<section id="${id}">`);
    expect(report.setid.length).toBeGreaterThan(0);
    expect(dom).toContain('<code>/usr/bin/su</code>');
    expectDrawn(png);
    expect(shareNear(png, '#5b7fa6')).toBeGreaterThan(0.01);
  });

  it('slim diff --html: the directories and packages that differ', async () => {
    const out = join(scratch, 'diff.html');
    const r = await runSlim(['diff', image, tag, '--html', out]);
    expect(r.code, r.stderr).toBe(0);
    expectSelfContained(readFileSync(out, 'utf8'));
    const { dom, png } = render(out);
    expect(dom).toMatch(/<section id="dirs">[\s\S]*<svg class="treemap"[\s\S]*<rect class="cell removed"/);
    expect(dom).toMatch(/<section id="packages">[\s\S]*<td>coreutils<\/td>/);
    expectDrawn(png);
  });
});
