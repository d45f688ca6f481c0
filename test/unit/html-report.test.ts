import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/rootfs/flatten.js';
import { dir, file } from '../helpers/tar-entries.js';
import type { BuildReport } from '../../src/report/report.js';
import { treeSizes } from '../../src/report/tree-sizes.js';
import { renderBuildHtml } from '../../src/report/html/build.js';
import { renderInspectHtml } from '../../src/report/html/inspect.js';
import { renderDiffHtml } from '../../src/report/html/diff.js';
import { esc } from '../../src/report/html/page.js';
import { analyseImage } from '../../src/inspect/analyse.js';
import { diffImages } from '../../src/inspect/diff.js';
import type { ImageConfig } from '../../src/image/types.js';

/** A name an image may well carry: markup, entities, quotes, a URL, a control character. */
const HOSTILE = `<script>alert("x")</script>&amp;'\`=<img src=https://evil.example/p.png>//x\u001b`;
const SHOWN = HOSTILE.replace('\u001b', '\ufffd');

const original = flatten([
  [
    dir('app/'), file('app/run', 3000, 0o755), file(`app/${HOSTILE}`, 7000), dir('usr/'), dir('usr/lib/'), file('usr/lib/libc.so', 20_000),
    dir('usr/share/'), dir('usr/share/doc/'), file('usr/share/doc/big.txt', 50_000), dir('etc/'), file('etc/passwd', 400),
  ],
]);
const keptPaths = new Set(['/app', '/app/run', '/usr', '/usr/lib', '/usr/lib/libc.so', '/etc', '/etc/passwd']);

function report(): BuildReport {
  return {
    schema: 'slim.report/v1',
    status: 'verify-failed',
    budget: { broken: [] },
    input: { ref: `app:${HOSTILE}`, id: `sha256:${'e'.repeat(64)}`, size: 100_000, files: 5, layers: 2 },
    output: { ref: null, written: [], id: `sha256:${'f'.repeat(64)}`, digest: `sha256:${'d'.repeat(64)}`, size: 24_000, files: 3, entries: 7, layerSize: 9000, layerMediaType: 'application/vnd.oci.image.layer.v1.tar' },
    reduction: { sizeRatio: 4.2, filesRatio: 1.7 },
    probe: { backend: 'strace', records: 40, distinctPaths: 12, skippedLines: 0, check: `GET ${HOSTILE}` },
    closure: { kept: 7, byReason: { traced: 3, parent: 3, 'elf-needed': 1 }, presets: { certs: 2 }, packages: [], excluded: 0, warnings: [`${HOSTILE} not found`] },
    removed: { largestDirs: [{ path: '/usr/share/doc', bytes: 50_000, files: 1 }] },
    sizes: treeSizes(original, keptPaths, new Map([['libc6', ['/usr/lib/libc.so']], ['docs', ['/usr/share/doc/big.txt']]]), { minShare: 0 }),
    verify: {
      original: 'pass',
      slim: 'fail',
      details: { original: 'all 2 checks passed', slim: `GET /health failed: ${HOSTILE}` },
      healthcheck: { original: 'none', slim: 'none' },
      checks: [
        { name: 'GET /health', original: 'pass', slim: 'fail', detail: `connection reset ${HOSTILE}` },
        { name: 'exit code', original: 'pass', slim: 'not-run', detail: 'not run' },
      ],
      output: { slim: ['starting', `Traceback: ${HOSTILE}`], original: ['starting', 'serving'] },
    },
    repair: { result: 'failed', rounds: 2, added: [{ path: `/app/${HOSTILE}`, round: 1, neededBy: ['GET /health'], seenIn: 'slim image' }], note: 'round 2 found nothing to add' },
    sbom: { format: 'CycloneDX 1.5', packages: 2 },
    harden: { steps: [{ step: 'setid', result: 'done', detail: 'removed the bits of 1 file', paths: [`/usr/bin/${HOSTILE}`] }], readOnly: { result: 'pass', tmpfs: ['/tmp'] } },
    timings: { read: 1.5, probe: 4, closure: 0.2, pack: 1, verify: 6, repair: 3, total: 16 },
  };
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
/** The text a browser would show for escaped markup. */
const unescape = (s: string) => s.replace(/&(#\d+|[a-z]+);/g, (_, e: string) => (e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : ENTITY[e] ?? `&${e};`));

/** What a self-contained page must never hold: anything that names or fetches another resource. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/https?:/i);
  expect(html).not.toContain('//');
  expect(html).not.toMatch(/\burl\(|@import|<link|<img|<iframe|<object|<embed/i);
  expect(html).not.toMatch(/\s(src|srcset|xlink:href|action|formaction)=/i);
  for (const m of html.matchAll(/\shref="([^"]*)"/g)) expect(m[1]).toMatch(/^#[a-z-]+$/);
  expect(html).toContain("default-src 'none'");
}

/** The hostile name appears only escaped: as text, never as markup. */
function expectEscaped(html: string): void {
  expect(html).not.toContain(HOSTILE);
  expect(html).not.toContain('<img');
  expect(html).not.toContain('\u001b');
  expect(unescape(html)).toContain(SHOWN);
}

function tags(html: string, name: string): { open: number; close: number } {
  return { open: (html.match(new RegExp(`<${name}[\\s>]`, 'g')) ?? []).length, close: (html.match(new RegExp(`</${name}>`, 'g')) ?? []).length };
}

interface SvgRect {
  cls: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function treemaps(html: string): { width: number; height: number; rects: SvgRect[] }[] {
  return [...html.matchAll(/<svg class="treemap" viewBox="0 0 (\d+) (\d+)"[^>]*>([\s\S]*?)<\/svg>/g)].map((m) => ({
    width: Number(m[1]),
    height: Number(m[2]),
    rects: [...m[3]!.matchAll(/<rect class="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"\/>/g)].map((r) => ({ cls: r[1]!, x: Number(r[2]), y: Number(r[3]), w: Number(r[4]), h: Number(r[5]) })),
  }));
}

/** The filled cells lie inside the drawing and never overlap (rounded to 0.01 px). */
function expectCellsTile(map: { width: number; height: number; rects: SvgRect[] }): void {
  const cells = map.rects.filter((r) => r.cls.startsWith('cell'));
  expect(cells.length).toBeGreaterThan(0);
  for (const c of cells) expect(c.x >= 0 && c.y >= 0 && c.x + c.w <= map.width + 0.02 && c.y + c.h <= map.height + 0.02).toBe(true);
  for (let i = 0; i < cells.length; i++) {
    for (let j = i + 1; j < cells.length; j++) {
      const a = cells[i]!;
      const b = cells[j]!;
      const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      expect(w > 0.02 && h > 0.02, JSON.stringify([a, b])).toBe(false);
    }
  }
}

describe('esc', () => {
  it('escapes markup, quotes and slashes, and replaces control characters', () => {
    expect(esc(`<a href="x">&'/\`:`)).toBe('&lt;a href&#61;&quot;x&quot;&gt;&amp;&#39;&#47;&#96;&#58;');
    expect(esc('a\u0000b\u001bc\td\ne')).toBe('a\ufffdb\ufffdc\td\ne');
    expect(esc(42)).toBe('42');
  });
});

describe('renderBuildHtml', () => {
  const html = renderBuildHtml(report());

  it('is one self-contained page with every string from the image escaped', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expectSelfContained(html);
    expectEscaped(html);
    for (const t of ['svg', 'table', 'section', 'g', 'text']) expect(tags(html, t).open, t).toBe(tags(html, t).close);
  });

  it('draws the original by directory and by package, kept and removed, as treemaps that tile', () => {
    const maps = treemaps(html);
    expect(maps).toHaveLength(2);
    maps.forEach(expectCellsTile);
    const dirs = maps[0]!;
    const area = (cls: string) => dirs.rects.filter((r) => r.cls === `cell ${cls}`).reduce((s, r) => s + r.w * r.h, 0);
    const total = dirs.width * dirs.height;
    // Padding for the directory bands takes some room: the kept share is close to, not exactly, the bytes' share.
    const keptShare = area('kept') / (area('kept') + area('removed'));
    expect(keptShare).toBeCloseTo(23_400 / 80_400, 1);
    expect(area('kept') + area('removed')).toBeGreaterThan(0.6 * total);
    expect(html).toContain('id="packages"');
  });

  it('tables the checks of both images, the repair rounds, hardening, timings and reasons', () => {
    const checks = html.match(/<table class="checks">[\s\S]*?<\/table>/)![0];
    expect(unescape(checks)).toContain(`connection reset ${SHOWN}`);
    expect(checks.match(/<tr>/g)).toHaveLength(3);
    expect(checks).toContain('<span class="badge bad">fail</span>');
    expect(checks).toContain('<span class="badge plain">not-run</span>');
    // What the containers printed: as text, the slim image's first.
    const printed = [...html.matchAll(/<pre class="output">([\s\S]*?)<\/pre>/g)].map((m) => unescape(m[1]!));
    expect(printed).toEqual([`starting\nTraceback: ${SHOWN}`, 'starting\nserving']);
    expect(unescape(html)).toContain(`/app/${SHOWN}`);
    expect(html).toContain('round 2 found nothing to add');
    expect(html).toContain('removed the bits of 1 file');
    const timings = html.match(/<section id="timings">[\s\S]*?<\/section>/)![0];
    expect(timings.match(/<g>/g)).toHaveLength(6);
    expect(timings).toContain('verify');
    const reasons = html.match(/<section id="closure">[\s\S]*?<\/section>/)![0];
    for (const r of ['traced', 'parent', 'elf-needed']) expect(reasons).toContain(`>${esc(r)}</text>`);
  });

  it('a section per --rebuild target: what it removed and each check, or why the original was kept; none without --rebuild', () => {
    const page = renderBuildHtml({
      ...report(),
      rebuild: [
        { target: 'jvm', applied: true, files: [{ path: '/j/lib/modules', before: 128_900_000, after: 19_600_000 }], removedBytes: 109_300_000, detail: {}, checks: [{ name: 'class sharing (-Xshare:on)', passed: true, detail: 'starts' }], seconds: 14 },
        { target: 'icu', applied: false, reason: `locales and collations: differs ${HOSTILE}`, files: [], removedBytes: 0, detail: {}, checks: [{ name: 'locales and collations', passed: false, detail: 'differs' }], seconds: 7 },
      ],
    });
    const section = page.match(/<section id="rebuild">[\s\S]*?<\/section>/)![0];
    expect(section).toContain('jvm: 109.3 MB less');
    expect(unescape(section)).toContain('<code>/j/lib/modules</code>');
    expect(section).toContain('<span class="badge good">pass</span>');
    expect(section).toContain('<span class="badge bad">fail</span>');
    expect(section).not.toContain(HOSTILE);
    expect(unescape(section)).toContain(`icu: locales and collations: differs ${SHOWN}`);
    expect(renderBuildHtml(report())).not.toContain('id="rebuild"');
  });

  it('falls back to the largest removed directories for a report without sizes, and says when hardening was off', () => {
    const { sizes: _, ...old } = report();
    const page = renderBuildHtml({ ...old, harden: null });
    expect(treemaps(page)).toHaveLength(1);
    expect(page).toContain('does not carry');
    expect(page).toContain('not asked for (--harden)');
    expectSelfContained(page);
  });
});

describe('renderInspectHtml', () => {
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
    history: [{ created_by: '/bin/sh -c #(nop) ADD file:abc in / ' }, { created_by: `/bin/sh -c curl -o /x https://example.com/a && echo '${HOSTILE}'` }],
  };
  const layers = [
    { entries: [dir('usr/'), dir('usr/lib/'), file('usr/lib/libc.so', 20_000), dir('opt/'), file('opt/big', 9000), file('usr/bin-su', 50, 0o4755)] },
    { entries: [file(`opt/${HOSTILE}`, 300), file('opt/.wh.big', 0)] },
  ];
  const r = analyseImage({ image: { ref: `x:${HOSTILE}`, id: `sha256:${'a'.repeat(64)}` }, config, layers, packages: { managers: [], packages: [] } });
  const html = renderInspectHtml(r);

  it('is self-contained, with the instruction and paths escaped', () => {
    expectSelfContained(html);
    expectEscaped(html);
    expect(unescape(html)).toContain('curl -o /x https://example.com/a');
  });

  it('draws the layers as bars with their instructions, and the largest directories as a treemap', () => {
    const bars = html.match(/<svg class="bars"[\s\S]*?<\/svg>/)![0];
    expect(bars.match(/<g>/g)).toHaveLength(2);
    expect(unescape(bars)).toContain('#0 ADD file:abc in /');
    const maps = treemaps(html);
    expect(maps).toHaveLength(1);
    expectCellsTile(maps[0]!);
    expect(html).toContain('id="wasted"');
    expect(unescape(html)).toContain('/usr/bin-su');
    expect(html).toContain('no database');
  });
});

describe('renderDiffHtml', () => {
  const b = flatten([[dir('app/'), file('app/run', 3000, 0o755), dir('usr/'), dir('usr/lib/'), file('usr/lib/libc.so', 20_000), dir('new/'), file('new/thing', 10)]]);
  const packages = new Map([['libc6', ['/usr/lib/libc.so']], ['docs', ['/usr/share/doc/big.txt']]]);
  const r = diffImages({ a: { ref: 'app:1', id: 'sha256:aa', index: original, packages }, b: { ref: `app:${HOSTILE}`, id: 'sha256:bb', index: b } });
  const html = renderDiffHtml(r);

  it('shows the directories and packages that differ, self-contained and escaped', () => {
    expectSelfContained(html);
    expectEscaped(html);
    expect(html).toContain('id="dirs"');
    expect(html).toContain('id="packages"');
    treemaps(html).forEach(expectCellsTile);
    expect(unescape(html)).toContain('/usr/share/doc');
    expect(html).toContain('<td>docs</td>');
  });
});
