import { SlimError } from '../errors.js';
import { choosePlatform, formatPlatform, hostPlatform, offeredPlatforms, type Platform } from '../image/platform.js';
import { metadataJson } from './archive-meta.js';

/** A descriptor as an OCI index or manifest gives it; nothing in it is trusted until its blob is read. */
export interface Desc {
  digest: string;
  size?: number;
  mediaType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
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
 * the only one; through an index of several platforms (index.json itself, or an index it names)
 * to the one asked for, else the host's, as for a registry input. An index whose entries name no
 * platform gives its first. `readBlob` gives a blob's bytes, checked as its source checks them
 * (a layout: a regular file matching its digest; an archive: the entry of that name).
 */
export async function chooseManifest(all: Desc[], tag: string | undefined, label: string, readBlob: (desc: Desc, namedIn: string) => Promise<Buffer>, asked?: Platform): Promise<ChosenManifest> {
  const want = asked ?? hostPlatform();
  const tagged = tag ? all.filter((m) => m?.annotations?.[REF_NAME] === tag) : all;
  // Several entries that each name a platform are one image for several platforms.
  const chosen = tagged.length > 1 && offeredPlatforms(tagged).length === tagged.length ? [forPlatform(tagged, want, label, asked)] : tagged;
  if (chosen.length !== 1) {
    const names = all.map((m) => m?.annotations?.[REF_NAME]).filter(Boolean);
    throw new SlimError(tag ? `${label} has no image tagged ${tag}` : `${label} holds ${all.length} images: name one with :TAG`, { code: 'BAD_ARCHIVE', hint: names.length ? `tags: ${names.join(', ')}` : 'the layout names no tags' });
  }
  let desc = chosen[0]!;
  let namedIn = 'index.json';
  for (let depth = 0; depth < 4; depth++) {
    const doc = metadataJson<{ manifests?: Desc[]; config?: Desc; layers?: Desc[] }>(await readBlob(desc, namedIn), label, `manifest ${desc.digest}`);
    if (Array.isArray(doc.manifests)) {
      const next = offeredPlatforms(doc.manifests).length ? forPlatform(doc.manifests, want, label, asked) : doc.manifests[0];
      if (!next) break;
      namedIn = `index ${desc.digest}`;
      desc = next;
    } else if (doc.config && Array.isArray(doc.layers)) {
      return { config: doc.config, layers: doc.layers, namedIn: `manifest ${desc.digest}` };
    } else break;
  }
  throw new SlimError(`${label}: no image manifest found`, { code: 'BAD_ARCHIVE' });
}

/** The entry for the platform; none is the same error as a registry's index gives. */
function forPlatform(entries: Desc[], want: Platform, label: string, asked: Platform | undefined): Desc {
  const found = choosePlatform(entries, want);
  if (found) return found;
  const offered = offeredPlatforms(entries);
  const notes = [...(asked ? [] : ["this host's platform"]), ...(offered.length ? [`it has ${offered.join(', ')}`] : [])];
  throw new SlimError(`${label} has no image for ${formatPlatform(want)}${notes.length ? ` (${notes.join('; ')})` : ''}`, { code: 'IMAGE_NOT_FOUND', hint: 'choose one with --platform OS/ARCH[/VARIANT]' });
}
