import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import { chooseManifest, type Desc } from '../../src/sources/oci-index.js';
import { checkEnginePlatform } from '../../src/sources/platform-check.js';
import { formatPlatform, hostPlatform, parsePlatform } from '../../src/image/platform.js';

/** Blobs in memory, by digest, as a layout would give them. */
function store() {
  const blobs = new Map<string, Buffer>();
  const put = (doc: unknown, extra: Partial<Desc> = {}): Desc => {
    const raw = Buffer.from(JSON.stringify(doc));
    const digest = sha256(raw);
    blobs.set(digest, raw);
    return { digest, size: raw.length, ...extra };
  };
  const read = async (d: Desc) => blobs.get(d.digest) ?? Promise.reject(new Error(`no blob ${d.digest}`));
  return { put, read };
}

const image = (s: ReturnType<typeof store>, arch: string, variant?: string): Desc => {
  const config = s.put({ os: 'linux', architecture: arch });
  return s.put({ schemaVersion: 2, config, layers: [] }, { platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) } });
};

describe('choosing the platform of an OCI index in a file input', () => {
  const s = store();
  const amd = image(s, 'amd64');
  const arm = image(s, 'arm64', 'v8');
  const armV7 = image(s, 'arm', 'v7');
  const configOf = async (m: Desc) => (JSON.parse((await s.read(m)).toString()) as { config: Desc }).config.digest;

  it('index.json listing platforms: the one asked for', async () => {
    const all = [arm, amd, armV7];
    expect((await chooseManifest(all, undefined, 'oci:x', s.read, parsePlatform('linux/amd64'))).config.digest).toBe(await configOf(amd));
    expect((await chooseManifest(all, undefined, 'oci:x', s.read, parsePlatform('linux/arm64'))).config.digest).toBe(await configOf(arm));
    expect((await chooseManifest(all, undefined, 'oci:x', s.read, parsePlatform('linux/arm/v7'))).config.digest).toBe(await configOf(armV7));
  });

  it('through a nested index, the same', async () => {
    const inner = s.put({ schemaVersion: 2, manifests: [arm, amd] }, { annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
    expect((await chooseManifest([inner], 'v1', 'oci:x', s.read, parsePlatform('linux/arm64/v8'))).namedIn).toBe(`manifest ${arm.digest}`);
    await expect(chooseManifest([inner], 'v1', 'oci:x', s.read, parsePlatform('linux/riscv64'))).rejects.toThrow('oci:x has no image for linux/riscv64 (it has linux/arm64/v8, linux/amd64)');
  });

  it('no platform asked for and none for the host: says so, and how to choose', async () => {
    const err = await chooseManifest([image(s, 'riscv64'), image(s, 's390x')], undefined, 'oci:x', s.read).catch((e: unknown) => e as Error & { hint?: string });
    expect(err).toMatchObject({ message: `oci:x has no image for ${formatPlatform(hostPlatform())} (this host's platform; it has linux/riscv64, linux/s390x)`, hint: 'choose one with --platform OS/ARCH[/VARIANT]' });
  });

  it('no platform asked for: the host\'s', async () => {
    const host = { ...image(s, 'riscv64'), platform: hostPlatform() };
    expect((await chooseManifest([image(s, 's390x'), host], undefined, 'oci:x', s.read)).namedIn).toBe(`manifest ${host.digest}`);
  });

  it('entries that name no platform: several are several images; an index of them gives its first', async () => {
    const plain = { ...amd, platform: undefined };
    await expect(chooseManifest([plain, { ...arm, platform: undefined }], undefined, 'oci:x', s.read)).rejects.toThrow('oci:x holds 2 images: name one with :TAG');
    const inner = s.put({ schemaVersion: 2, manifests: [plain] });
    expect((await chooseManifest([inner], undefined, 'oci:x', s.read, parsePlatform('linux/arm64'))).namedIn).toBe(`manifest ${amd.digest}`);
  });
});

describe('an image in the engine and --platform', () => {
  it('passes when it is the one asked for (a missing variant is the CPU\'s default) or none is asked for', () => {
    expect(() => checkEnginePlatform({ os: 'linux', architecture: 'amd64' }, undefined, 'a:1')).not.toThrow();
    expect(() => checkEnginePlatform({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/arm64/v8'), 'a:1')).not.toThrow();
  });
  it('fails naming both when it is another', () => {
    expect(() => checkEnginePlatform({ os: 'linux', architecture: 'amd64' }, parsePlatform('linux/arm64'), 'a:1')).toThrow('image a:1 in the engine is an image for linux/amd64, not linux/arm64');
    expect(() => checkEnginePlatform({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm/v7'), 'a:1')).toThrow('image a:1 in the engine is an image for linux/arm/v6, not linux/arm/v7');
  });
});
