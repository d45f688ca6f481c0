import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim, SLIM_BIN } from '../helpers/slim.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { BuildReport } from '../../src/report/report.js';

const STAGE = fileURLToPath(new URL('../../scripts/ci-build.sh', import.meta.url));
const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const work = mkdtempSync(join(tmpdir(), 'slim-registry-cli-'));
const madeTags: string[] = [];
let reg: TestRegistry;

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  removeImages(madeTags);
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function waitForHttp(url: string, seconds: number): Promise<string> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('slim build --output registry: a CI stage end to end', () => {
  it('builds, hardens, verifies (plain, seccomp, read-only) and pushes with attachments; skopeo and the engine read it back', async () => {
    const port = freePort();
    const ref = `${reg.host}/team/python-http:hardened`;
    const reportFile = join(work, 'python.json');
    const r = await runSlim(['build', fixtureTag('python-http'), '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /health',
      '--harden', '--user', '1000:1000', '--output', `registry:${ref}`, '--report', reportFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = r.report!;
    const pushed = report.output.pushed!;
    expect(pushed).toHaveLength(1);
    expect(pushed[0]!.ref).toBe(`${ref}@${report.output.digest}`);
    expect(pushed[0]!.attachments.map((a) => [a.artifactType, a.via])).toEqual([['application/vnd.slim.evidence.v1', 'tag-schema'], ['application/vnd.cyclonedx+json', 'tag-schema']]);
    expect(report.harden!.steps.filter((s) => s.step === 'seccomp' || s.step === 'read-only').map((s) => s.result)).toEqual(['pass', 'pass']);
    // Not in the engine under any tag: only the registry was asked for.
    expect(report.output.ref).toBeNull();
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });

    // skopeo: the digest slim reports, the hardened config.
    const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${ref}`)) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(report.output.digest);
    const config = JSON.parse(skopeo('inspect', '--config', '--tls-verify=false', `docker://${ref}`)) as { config: { User: string } };
    expect(config.config.User).toBe('1000:1000');

    // The engine pulls it and it serves.
    madeTags.push(ref);
    docker(['pull', '-q', ref]);
    const runPort = freePort();
    const id = docker(['run', '-d', '--network', 'host', '-e', `PORT=${runPort}`, '--security-opt', `seccomp=${report.harden!.seccompProfile}`, '--read-only', ref]).trim();
    try {
      expect(await waitForHttp(`http://127.0.0.1:${runPort}/health`, 30)).toMatch(/ok/);
    } finally {
      docker(['rm', '-f', '-v', id]);
    }

    // slim attachments lists and fetches what was attached, each file checked against its digest.
    const dir = join(work, 'fetched');
    const a = await runSlim(['attachments', ref, '--fetch', dir, '--json']);
    expect(a.code, a.stderr).toBe(0);
    const listed = JSON.parse(a.stdout) as { subject: string; via: string; attachments: { artifactType: string; files: { title: string }[] }[] };
    expect(listed.subject).toBe(report.output.digest);
    expect(listed.attachments.map((x) => x.files.map((f) => f.title))).toEqual([['report.json', 'trace.jsonl', 'seccomp.json'], ['sbom.cdx.json']]);
    expect(readdirSync(dir).sort()).toEqual(['report.json', 'sbom.cdx.json', 'seccomp.json', 'trace.jsonl']);
    const attachedReport = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as BuildReport;
    expect(attachedReport.output.digest).toBe(report.output.digest);
    expect(attachedReport.output.written).toContain(`registry:${ref}@${report.output.digest}`);
    expect(readFileSync(join(dir, 'seccomp.json'), 'utf8')).toBe(readFileSync(report.harden!.seccompProfile!, 'utf8'));
    const traceLines = readFileSync(join(dir, 'trace.jsonl'), 'latin1').trim().split('\n');
    expect(traceLines.length).toBe(report.probe.records);
    expect(JSON.parse(traceLines[0]!)).toHaveProperty('path');

    // The SBOM: python3 and libc are there, partly kept; what was dropped whole is not.
    const sbom = JSON.parse(readFileSync(join(dir, 'sbom.cdx.json'), 'utf8')) as { bomFormat: string; components: { name: string; purl: string; properties: { name: string; value: string }[] }[] };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(readFileSync(join(work, 'python.sbom.cdx.json'), 'utf8')).toBe(readFileSync(join(dir, 'sbom.cdx.json'), 'utf8'));
    const byName = new Map(sbom.components.map((c) => [c.name, c]));
    const fraction = (n: string) => Number(byName.get(n)!.properties.find((p) => p.name === 'slim:fraction-kept')!.value);
    expect(byName.get('libc6')!.purl).toMatch(/^pkg:deb\/debian\/libc6@2\.36-[^?]+\?arch=amd64&distro=debian-12$/);
    expect(fraction('libc6')).toBeGreaterThan(0);
    expect(fraction('libc6')).toBeLessThan(1);
    expect(byName.has('apt')).toBe(false);
    expect(sbom.components.length).toBe(report.sbom.packages);

    // Text output for people.
    const t = await runSlim(['attachments', ref]);
    expect(t.stdout).toMatch(/2 attached artifacts \(via tag-schema\)/);
    expect(t.stdout).toMatch(/report\.json .* application\/vnd\.slim\.report\.v1\+json/);
  });

  it('the CI script of the action and the GitLab template runs on its own as a pipeline would: pushes on success; over budget exits 4 and pushes nothing', async () => {
    const port = freePort();
    const dir = mkdtempSync(join(work, 'stage-'));
    writeFileSync(join(dir, 'slim.yaml'), `network: host\nenv: [PORT=${port}]\nhttp-port: ${port}\nhttp-probe: [GET /health]\nuser: "1000:1000"\n`);
    const target = `${reg.host}/team/stage:1-slim`;
    const env = { ...process.env, SLIM_IMAGE: fixtureTag('python-http'), SLIM_PUSH: target, SLIM_HARDEN: 'true', SLIM: `${process.execPath} ${SLIM_BIN}`, CI: 'true' };
    const ok = spawnSync('sh', [STAGE], { cwd: dir, env, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(`slim-ci: done, pushed ${target}@sha256:`);
    const report = JSON.parse(readFileSync(join(dir, 'slim-report.json'), 'utf8')) as BuildReport;
    expect(JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${target}`)).Digest).toBe(report.output.digest);

    const overTarget = `${reg.host}/team/stage:2-slim`;
    writeFileSync(join(dir, 'slim.yaml'), `network: host\nenv: [PORT=${port}]\nhttp-port: ${port}\nhttp-probe: [GET /health]\nuser: "1000:1000"\nmax-size: 1MB\n`);
    const over = spawnSync('sh', [STAGE], { cwd: dir, env: { ...env, SLIM_PUSH: overTarget }, encoding: 'utf8' });
    expect(over.status, over.stderr).toBe(4);
    expect(over.stderr).toMatch(/over its size budget; see slim-report.json. Nothing was published./);
    const client = new RegistryClient(reg.host);
    expect(await client.getManifest('team/stage', '2-slim')).toBeUndefined();
  });

  it('an unreachable registry fails with a clear error and exit 1 before the build; nothing is made', async () => {
    const port = freePort();
    const dead = `127.0.0.1:${freePort()}`;
    const r = await runSlim(['build', fixtureTag('static-bin'), '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /', '--output', `registry:${dead}/x/y:z`], { env: { CI: 'true' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`slim: error: --output registry:${dead.replace(/\./g, '\\.')}/x/y:z: contacting the registry at ${dead.replace(/\./g, '\\.')}: GET ${dead.replace(/\./g, '\\.')}/v2/: connect ECONNREFUSED`));
    expect(r.stderr).not.toMatch(/probe container/);
    expect(r.stderr).toMatch(/slim: hint: is the registry up and reachable from here\?/);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });
});
