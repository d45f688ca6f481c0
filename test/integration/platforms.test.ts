import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers } from '../helpers/engine.js';
import { buildFixture } from '../helpers/fixtures.js';
import { runSlim, type SlimRun } from '../helpers/slim.js';
import type { InspectReport } from '../../src/inspect/analyse.js';

/**
 * --platform for every kind of input: an index of several platforms in a layout or an
 * oci-archive gives the one asked for (else the host's, linux/amd64 on these machines), and an
 * image of one platform (in the engine, or a layout's only image) must be the one asked for.
 */
const NO_ENGINE = { DOCKER_HOST: 'tcp://127.0.0.1:1' };
const dir = mkdtempSync(join(tmpdir(), 'slim-platforms-'));
const IMAGE = buildFixture('busybox-scratch');
const single = join(dir, 'single');
const flat = join(dir, 'flat');
const nested = join(dir, 'nested');
const archive = join(dir, 'flat.oci.tar');
let amd64Config = '';
let arm64Config = '';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Put a blob into a layout, by its digest; its descriptor back. */
function blob(layout: string, body: string, mediaType: string): { mediaType: string; digest: string; size: number } {
  const digest = sha(body);
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), body);
  return { mediaType, digest, size: Buffer.byteLength(body) };
}

beforeAll(() => {
  // The fixture as skopeo writes it: one image, one platform (linux/amd64).
  const saved = join(dir, 'image.tar');
  docker(['save', '-o', saved, IMAGE]);
  execFileSync('skopeo', ['copy', '-q', `docker-archive:${saved}`, `oci:${single}:v1`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const read = (d: string) => readFileSync(join(single, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const top = JSON.parse(readFileSync(join(single, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(read(top.manifests[0]!.digest)) as { config: { digest: string } };
  const config = JSON.parse(read(manifest.config.digest)) as { architecture: string; os: string };
  expect(config.architecture).toBe('amd64');
  amd64Config = manifest.config.digest;
  // The same layers under an arm64 config: a second platform's image, as a multi-platform build makes one.
  cpSync(single, flat, { recursive: true });
  const armConfig = blob(flat, JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' }), 'application/vnd.oci.image.config.v1+json');
  arm64Config = armConfig.digest;
  const amd = { ...blob(flat, read(top.manifests[0]!.digest), MANIFEST), platform: { os: 'linux', architecture: 'amd64' } };
  const arm = { ...blob(flat, JSON.stringify({ ...manifest, config: armConfig }), MANIFEST), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
  // An index.json listing both (no tags), as `docker buildx --output type=oci` and others write it.
  writeFileSync(join(flat, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [amd, arm] }));
  // index.json naming one image index (tagged v1) that lists both: a multi-platform image copied from a registry.
  cpSync(flat, nested, { recursive: true });
  const inner = blob(nested, JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [arm, amd] }), INDEX);
  writeFileSync(join(nested, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ ...inner, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  execFileSync('tar', ['-C', flat, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
}, 900_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function inspect(ref: string, extra: string[] = [], env: Record<string, string> = NO_ENGINE): Promise<{ r: SlimRun; report?: InspectReport }> {
  const r = await runSlim(['inspect', ref, '--json', ...extra], { env });
  return { r, ...(r.code === 0 ? { report: JSON.parse(r.stdout) as InspectReport } : {}) };
}

function oneError(r: SlimRun, message: RegExp, code = 1): void {
  expect(r.code, r.stderr).toBe(code);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('slim: error:'));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(message);
}

describe('--platform', () => {
  it.each([
    ['a layout whose index.json lists two platforms', () => `oci:${flat}`],
    ['a layout whose tagged image is an index of two platforms', () => `oci:${nested}:v1`],
    ['an oci-archive whose index.json lists two platforms', () => `oci-archive:${archive}`],
  ])('%s: the host\'s by default, the one asked for with --platform, an error naming those there for another', async (_name, ref) => {
    const host = await inspect(ref());
    expect(host.r.code, host.r.stderr).toBe(0);
    expect(host.report!.image).toMatchObject({ architecture: 'amd64', id: amd64Config });
    const arm = await inspect(ref(), ['--platform', 'linux/arm64']);
    expect(arm.r.code, arm.r.stderr).toBe(0);
    expect(arm.report!.image).toMatchObject({ architecture: 'arm64', id: arm64Config });
    // The layers are the same: the filesystem read is the same.
    expect(arm.report!.total).toEqual(host.report!.total);
    const none = await inspect(ref(), ['--platform', 'linux/s390x']);
    oneError(none.r, /^slim: error: oci(-archive)?:\S+ has no image for linux\/s390x \(it has linux\/(amd64, linux\/arm64\/v8|arm64\/v8, linux\/amd64)\)$/);
    expect(none.r.stderr).toMatch(/slim: hint: choose one with --platform/);
  });

  it('a layout of one image: --platform must be its platform', async () => {
    expect((await inspect(`oci:${single}:v1`, ['--platform', 'linux/amd64'])).r.code).toBe(0);
    oneError((await inspect(`oci:${single}:v1`, ['--platform', 'linux/arm64'])).r, /^slim: error: oci:\S+:v1 is an image for linux\/amd64, not linux\/arm64$/);
  });

  it('an image in the engine: --platform must be its platform, checked before it is read', async () => {
    const ok = await inspect(IMAGE, ['--platform', 'linux/amd64'], {});
    expect(ok.r.code, ok.r.stderr).toBe(0);
    const bad = await inspect(IMAGE, ['--platform', 'linux/arm64/v8'], {});
    oneError(bad.r, new RegExp(`^slim: error: image ${IMAGE.replace(/[/.]/g, '\\$&')} in the engine is an image for linux/amd64, not linux/arm64/v8$`));
    expect(bad.r.stderr).not.toMatch(/reading/);
  });

  it('slim build: an engine image for another platform fails before the probe, a layout without the platform before the load; nothing is left', async () => {
    const engine = await runSlim(['build', IMAGE, '--platform', 'linux/arm64', '--smoke', 'true']);
    oneError(engine, /^slim: error: image \S+ in the engine is an image for linux\/amd64, not linux\/arm64$/);
    expect(engine.stderr).not.toMatch(/probe container/);
    expect(leftovers(engine.runId)).toEqual({ containers: [], volumes: [] });
    const layout = await runSlim(['build', `oci:${flat}`, '--tag', 'slim-test/platforms:never', '--platform', 'linux/ppc64le', '--smoke', 'true']);
    oneError(layout, /^slim: error: oci:\S+ has no image for linux\/ppc64le \(it has linux\/amd64, linux\/arm64\/v8\)$/);
    expect(leftovers(layout.runId)).toEqual({ containers: [], volumes: [] });
    expect(() => docker(['image', 'inspect', 'slim-test/platforms:never'])).toThrow();
  });
});
