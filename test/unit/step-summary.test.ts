import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendStepSummary, cell, stepSummary } from '../../src/report/step-summary.js';
import { errorReport, type BuildReport } from '../../src/report/report.js';
import { SlimError } from '../../src/errors.js';

const work = mkdtempSync(join(tmpdir(), 'slim-step-summary-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function report(over: Partial<BuildReport> = {}): BuildReport {
  return {
    schema: 'slim.report/v1',
    status: 'ok',
    budget: { broken: [] },
    input: { ref: 'myapp:1.4', id: 'sha256:1', size: 332e6, files: 5210, layers: 3 },
    output: { ref: 'myapp:1.4-slim', written: ['docker:myapp:1.4-slim'], id: 'sha256:abcdef0123456789', digest: 'sha256:2', size: 21e6, files: 410, entries: 530, layerSize: 8e6, layerMediaType: 'application/vnd.oci.image.layer.v1.tar' },
    reduction: { sizeRatio: 332 / 21, filesRatio: 5210 / 410 },
    probe: { backend: 'both', records: 10, distinctPaths: 5, skippedLines: 0, check: 'ok' },
    closure: { kept: 530, byReason: {}, presets: {}, packages: [], excluded: 0, warnings: [] },
    removed: { largestDirs: [] },
    verify: {
      original: 'pass', slim: 'pass', details: { original: '', slim: '' }, healthcheck: { original: 'none', slim: 'none' },
      checks: [{ name: 'GET /health', original: 'pass', slim: 'pass', detail: 'GET http://127.0.0.1:8080/health: 200' }],
    },
    repair: { result: 'not-needed', rounds: 0, added: [] },
    sbom: { format: 'CycloneDX 1.5', packages: 3 },
    harden: null,
    timings: { read: 2.1, probe: 6.3, closure: 0.2, pack: 1.4, verify: 5, repair: 0, total: 15.2 },
    ...over,
  };
}

describe('the GitHub Actions job summary', () => {
  it('a built image: the result, sizes, the checks table and the timings', () => {
    const md = stepSummary(report());
    expect(md).toContain('### ✅ slim: built `myapp:1.4-slim` from `myapp:1.4`');
    expect(md).toContain('| size | 332.0 MB | 21.0 MB | 15.8x smaller |');
    expect(md).toContain('| files | 5210 | 410 | 12.7x fewer |');
    expect(md).toContain('| GET /health | pass | pass | GET http://127.0.0.1:8080/health: 200 |');
    expect(md).toContain('**Timings:** read 2.1 s · probe 6.3 s · closure 0.2 s · pack 1.4 s · verify 5.0 s · total 15.2 s');
    expect(md).toContain('- written `docker:myapp:1.4-slim`');
    expect(md).not.toContain('Repair');
  });

  it('a failed verification after repair: the failing check and what repair added', () => {
    const md = stepSummary(report({
      status: 'verify-failed',
      verify: { ...report().verify, slim: 'fail', checks: [{ name: 'GET /report', original: 'pass', slim: 'fail', detail: 'GET /report: 500 <html>|oops|</html>\nTraceback' }] },
      repair: { result: 'failed', rounds: 2, added: [{ path: '/app/templates/report.html', round: 1, neededBy: ['GET /report'], seenIn: 'original' }] },
      output: { ...report().output, ref: null, written: [] },
    }));
    expect(md).toContain('### ❌ slim: the slim image of `myapp:1.4` failed verification: nothing written or tagged');
    // What the app said cannot end the cell, open HTML or break the row.
    expect(md).toContain('| GET /report | pass | **fail** | GET /report: 500 &lt;html&gt;\\|oops\\|&lt;/html&gt; Traceback |');
    expect(md).toContain('**Repair:** failed after 2 rounds');
    expect(md).toContain('- added `/app/templates/report.html` (round 1, needed by GET /report)');
  });

  it('a failed verification: what each container printed last, in blocks no line can close, and the kept image', () => {
    const md = stepSummary(report({
      status: 'verify-failed',
      verify: { ...report().verify, slim: 'fail', output: { slim: ['cut: /data/people.csv: No such file or directory', 'a ``` fence <b>'], original: ['ids: 3 1 2'] } },
      output: { ...report().output, ref: null, written: [], keptFailed: 'myapp:1.4-slim-failed' },
    }));
    expect(md).toContain("**The slim image's container, its last lines:**\n\n````text\ncut: /data/people.csv: No such file or directory\na ``` fence <b>\n````\n");
    expect(md).toContain("**The original's, same checks:**\n\n```text\nids: 3 1 2\n```\n");
    expect(md).toContain('- kept the failed slim image as `myapp:1.4-slim-failed` (`--keep-failed`)');
  });

  it('a build that stopped with an error: the code, the message, the hint, the phases that ran', () => {
    const err = new SlimError('image x:1 is not in the engine', { code: 'IMAGE_NOT_FOUND', hint: 'build or pull it first' });
    const md = stepSummary(errorReport('x:1', err, { read: 0.4, total: 0.5 }));
    expect(md.split('\n')).toEqual(['### ❌ slim: the build of `x:1` failed (`IMAGE_NOT_FOUND`)', '', 'image x:1 is not in the engine', '', '> hint: build or pull it first', '', '**Timings:** read 0.4 s · total 0.5 s', '']);
  });

  it('cells: one line, no markup, no end of the cell, bounded', () => {
    expect(cell('a|b\n<script>`x`</script>')).toBe("a\\|b &lt;script&gt;'x'&lt;/script&gt;");
    expect(cell('x'.repeat(300))).toHaveLength(200);
  });

  it('is appended to the file GITHUB_STEP_SUMMARY names; without it nothing is written; a failed write is a warning', async () => {
    const file = join(work, 'summary.md');
    writeFileSync(file, 'earlier step\n');
    const warnings: string[] = [];
    await appendStepSummary(report(), { GITHUB_STEP_SUMMARY: file }, (m) => warnings.push(m));
    await appendStepSummary(report(), {}, (m) => warnings.push(m));
    expect(readFileSync(file, 'utf8')).toBe(`earlier step\n${stepSummary(report())}\n`);
    await appendStepSummary(report(), { GITHUB_STEP_SUMMARY: join(file, 'nested') }, (m) => warnings.push(m));
    expect(warnings).toEqual([`cannot append the job summary to GITHUB_STEP_SUMMARY ${join(file, 'nested')}: ENOTDIR`]);
  });
});
