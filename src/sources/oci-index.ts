import { SlimError } from '../errors.js';
import { metadataJson } from './archive-meta.js';

/** A descriptor as an OCI index or manifest gives it; nothing in it is trusted until its blob is read. */
export interface Desc {
  digest: string;
  size?: number;
  mediaType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/** The image manifest an index leads to, and where it was named (for messages about its blobs). */
export interface ChosenManifest {
  config: Desc;
  layers: Desc[];
  namedIn: string;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** index.json parsed: its manifests, when it lists any. */
export function parseIndex(raw: Buffer, label: string): Desc[] {
  const index = metadataJson<{ manifests?: Desc[] }>(raw, label, 'index.json');
  if (index.manifests !== undefined && !Array.isArray(index.manifests)) throw new SlimError(`${label}: index.json: "manifests" is not a list`, { code: 'BAD_ARCHIVE' });
  return index.manifests ?? [];
}

/**
 * Walk an OCI index (parseIndex) to the one image manifest slim reads: the one tagged `tag`, or
 * the only one; through nested indexes (a multi-platform image) to linux/amd64, or the first.
 * `readBlob` gives a blob's bytes, checked as its source checks them (a layout: a regular file
 * matching its digest; an archive: the entry of that name).
 */
export async function chooseManifest(all: Desc[], tag: string | undefined, label: string, readBlob: (desc: Desc, namedIn: string) => Promise<Buffer>): Promise<ChosenManifest> {
  const chosen = tag ? all.filter((m) => m?.annotations?.[REF_NAME] === tag) : all;
  if (chosen.length !== 1) {
    const names = all.map((m) => m?.annotations?.[REF_NAME]).filter(Boolean);
    throw new SlimError(tag ? `${label} has no image tagged ${tag}` : `${label} holds ${all.length} images: name one with :TAG`, { code: 'BAD_ARCHIVE', hint: names.length ? `tags: ${names.join(', ')}` : 'the layout names no tags' });
  }
  let desc = chosen[0]!;
  let namedIn = 'index.json';
  for (let depth = 0; depth < 4; depth++) {
    const doc = metadataJson<{ manifests?: Desc[]; config?: Desc; layers?: Desc[] }>(await readBlob(desc, namedIn), label, `manifest ${desc.digest}`);
    if (Array.isArray(doc.manifests)) {
      const next = doc.manifests.find((m) => m?.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? doc.manifests[0];
      if (!next) break;
      namedIn = `index ${desc.digest}`;
      desc = next;
    } else if (doc.config && Array.isArray(doc.layers)) {
      return { config: doc.config, layers: doc.layers, namedIn: `manifest ${desc.digest}` };
    } else break;
  }
  throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
}
