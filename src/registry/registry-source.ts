import type { Readable } from 'node:stream';
import { SlimError, UnsafeImageError } from '../errors.js';
import { sha256 } from '../image/digest.js';
import { isDigest, type Digest, type ImageConfig } from '../image/types.js';
import { MAX_JSON, metadataJson } from '../sources/archive-meta.js';
import { checkedStream, type ConfigBlob, type ImageSource, type LayerBlob } from '../sources/image-source.js';
import type { RegistryOpener } from '../sources/open-source.js';
import { streamBlob } from './blob-stream.js';
import { getManifest } from './manifests.js';
import { choosePlatform, formatPlatform, hostPlatform, offeredPlatforms, samePlatform, type Platform } from './platform.js';
import { parseRegistryRef, type RegistryRef } from './registry-ref.js';
import { RegistryTransport, type ClientOptions } from './transport.js';

/** How `registry:` inputs are read: from the command's flags. */
export interface RegistryInputOptions {
  /** The image of an index to read; the host's platform when not given. */
  platform?: Platform;
  /** Hosts spoken to over plain HTTP besides loopback ones (--insecure-registry). */
  insecure?: string[];
}

type ReadOptions = RegistryInputOptions & Pick<ClientOptions, 'signal' | 'onRetry' | 'env'>;

interface Desc {
  digest: Digest;
  size: number;
  mediaType?: string;
}

const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** The opener openSource takes for `registry:` inputs, the registry client being a layer above sources. */
export function registryOpener(opts: ReadOptions): RegistryOpener {
  return (ref, label) => registrySource(ref, label, opts);
}

/**
 * An image in a registry, read as untrusted as a file input: the manifest (through an index to the
 * platform asked for) is fetched now and checked against the digest it was asked by; the config
 * when asked for, whole and checked; each layer as a fresh GET streamed through a check of its
 * digest and size, never held. The diff_ids and entry rules are readImage's, as for any file.
 */
export async function registrySource(text: string, label: string, opts: ReadOptions = {}): Promise<ImageSource> {
  const ref = parseRegistryRef(text);
  const { onRetry, signal, env } = opts;
  const t = new RegistryTransport(ref.host, {
    insecure: opts.insecure?.includes(ref.host) ?? false,
    ...(signal ? { signal } : {}),
    ...(onRetry ? { onRetry: (what: string, n: number, why: string) => onRetry(`${ref.host}: ${what}`, n, why) } : {}),
    ...(env ? { env } : {}),
  });
  const m = await imageManifest(t, ref, label, opts.platform);
  let config: Promise<ConfigBlob> | undefined;
  const readConfig = async (): Promise<ConfigBlob> => {
    const raw = await readSmall(t, ref.repository, m.config, 'config', label);
    const parsed = metadataJson<ImageConfig>(raw, label, `config ${m.config.digest}`);
    const asked = opts.platform;
    // An image that is no index carries one platform; one asked for by name must be it.
    if (asked && m.single && !samePlatform({ os: parsed.os, architecture: parsed.architecture, ...(parsed.variant ? { variant: parsed.variant } : {}) }, asked)) {
      throw new SlimError(`${label} is an image for ${parsed.os}/${parsed.architecture}${parsed.variant ? `/${parsed.variant}` : ''}, not ${formatPlatform(asked)}`, { code: 'IMAGE_NOT_FOUND', hint: 'leave out --platform to read it as it is' });
    }
    return { raw, digest: m.config.digest, config: parsed };
  };
  return {
    label,
    untrusted: true,
    config: () => (config ??= readConfig()),
    layers: async () => m.layers.map((l) => layerBlob(t, ref.repository, l, label)),
  };
}

function layerBlob(t: RegistryTransport, repo: string, desc: Desc, label: string): LayerBlob {
  const { digest, size } = desc;
  const wrongSize = (bytes: number) => new UnsafeImageError(`layer ${digest} of ${label} is ${bytes} bytes, not ${size}`);
  const tooLong = () => new UnsafeImageError(`layer ${digest} of ${label} is more than the ${size} bytes its descriptor says`);
  return {
    name: digest,
    digest,
    size,
    async open(signal?: AbortSignal): Promise<Readable> {
      const body = streamBlob(t, repo, digest, { size, tooLong, ...(signal ? { signal } : {}) });
      return checkedStream(body, (actual, bytes) =>
        bytes !== size ? wrongSize(bytes) : actual !== digest ? new UnsafeImageError(`${label}: layer blob ${digest} does not match its digest: its content is ${actual}`) : undefined,
      );
    },
  };
}

/** A blob held whole (the config): no bigger than image metadata is, and matching its digest and size. */
async function readSmall(t: RegistryTransport, repo: string, desc: Desc, what: string, label: string): Promise<Buffer> {
  if (desc.size > MAX_JSON) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} is ${desc.size} bytes, too big for a ${what}`);
  const chunks: Buffer[] = [];
  const tooLong = () => new UnsafeImageError(`${label}: ${what} blob ${desc.digest} is more than the ${desc.size} bytes its descriptor says`);
  for await (const c of streamBlob(t, repo, desc.digest, { size: desc.size, tooLong })) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const actual = sha256(raw);
  if (actual !== desc.digest) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} does not match its digest: its content is ${actual}`);
  if (raw.length !== desc.size) throw new UnsafeImageError(`${label}: ${what} blob ${desc.digest} is ${raw.length} bytes, its descriptor says ${desc.size}`);
  return raw;
}

interface ImageManifest {
  config: Desc;
  layers: Desc[];
  /** The reference named an image manifest, not an index. */
  single: boolean;
}

/** The image manifest the reference leads to, through indexes to the platform asked for (the host's by default). */
async function imageManifest(t: RegistryTransport, ref: RegistryRef, label: string, asked: Platform | undefined): Promise<ImageManifest> {
  const want = asked ?? hostPlatform();
  let reference: string = ref.digest ?? ref.tag ?? 'latest';
  let expected: Desc | undefined;
  let namedIn: string | undefined;
  for (let depth = 0; depth < 4; depth++) {
    const got = await getManifest(t, ref.repository, reference);
    if (!got && namedIn) throw new SlimError(`${label}: manifest ${reference} named in ${namedIn} is not in the registry`, { code: 'BAD_ARCHIVE' });
    if (!got) throw new SlimError(`${label} is not in the registry`, { code: 'IMAGE_NOT_FOUND', hint: `is ${ref.repository} the repository and ${reference} its tag or digest?` });
    if (expected && got.raw.length !== expected.size) throw new UnsafeImageError(`${label}: manifest ${expected.digest} is ${got.raw.length} bytes, the index says ${expected.size}`);
    const doc = metadataJson<{ manifests?: unknown; config?: unknown; layers?: unknown; fsLayers?: unknown }>(got.raw, label, `manifest ${reference}`);
    if (Array.isArray(doc.manifests)) {
      const entries = doc.manifests as { platform?: Partial<Platform> }[];
      const next = choosePlatform(entries, want);
      if (!next) {
        const offered = offeredPlatforms(entries);
        throw new SlimError(`${label} has no image for ${formatPlatform(want)}${offered.length ? ` (it has ${offered.join(', ')})` : ''}`, { code: 'IMAGE_NOT_FOUND', hint: 'choose one with --platform OS/ARCH[/VARIANT]' });
      }
      namedIn = `index ${got.digest}`;
      expected = descriptor(next, `an entry of ${namedIn}`, label);
      reference = expected.digest;
      continue;
    }
    if (doc.fsLayers !== undefined) throw new SlimError(`${label} is a schema 1 manifest, which slim does not read`, { code: 'BAD_ARCHIVE', hint: 'push it again with a current client: it becomes a schema 2 or OCI manifest' });
    if (!Array.isArray(doc.layers) || doc.config === null || typeof doc.config !== 'object') break;
    const config = descriptor(doc.config, `the config of manifest ${got.digest}`, label);
    if (config.mediaType && !IMAGE_CONFIGS.has(config.mediaType)) {
      throw new SlimError(`${label} is not a container image: its config is ${config.mediaType}`, { code: 'BAD_ARCHIVE' });
    }
    const layers = doc.layers.map((l, i) => descriptor(l, `layer ${i} of manifest ${got.digest}`, label));
    return { config, layers, single: depth === 0 };
  }
  throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
}

/** A descriptor from a manifest or index: nothing in it is trusted but its shape, checked here. */
function descriptor(v: unknown, where: string, label: string): Desc {
  const d = (v ?? {}) as { digest?: unknown; size?: unknown; mediaType?: unknown };
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw new UnsafeImageError(`${label}: bad digest "${String(d.digest).slice(0, 80)}" in ${where}`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new UnsafeImageError(`${label}: bad size ${String(d.size).slice(0, 40)} for ${d.digest} in ${where}`);
  return { digest: d.digest, size: d.size, ...(typeof d.mediaType === 'string' ? { mediaType: d.mediaType } : {}) };
}

/** The name the engine gives the image when it pulls it (`docker pull`), for a slim image named after it. */
export function engineName(text: string): string {
  const r = parseRegistryRef(text);
  const repo = r.host === 'docker.io' ? r.repository.replace(/^library\//, '') : `${r.host}/${r.repository}`;
  return `${repo}${r.tag ? `:${r.tag}` : ''}`;
}
