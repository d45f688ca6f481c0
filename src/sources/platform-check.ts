import { SlimError } from '../errors.js';
import { formatPlatform, samePlatform, type Platform } from '../image/platform.js';
import type { ImageInspect } from '../runtime/runtime.js';
import type { ImageSource } from './image-source.js';

/** What an image config or the engine says an image is for; a missing OS reads as linux, as the engine runs it. */
function platformOf(p: { os?: string; architecture?: string; variant?: string }): Platform {
  return { os: p.os || 'linux', architecture: p.architecture ?? 'unknown', ...(p.variant ? { variant: p.variant } : {}) };
}

function notFor(what: string, have: Platform, want: Platform, hint: string): SlimError {
  return new SlimError(`${what} is an image for ${formatPlatform(have)}, not ${formatPlatform(want)}`, { code: 'IMAGE_NOT_FOUND', hint });
}

/**
 * An image in the engine is one platform's: with --platform it must be that one, found from the
 * engine's inspect before anything is read or run (the same error as a registry input's).
 */
export function checkEnginePlatform(inspect: Pick<ImageInspect, 'os' | 'architecture' | 'variant'>, asked: Platform | undefined, ref: string): void {
  if (!asked) return;
  const have = platformOf(inspect);
  if (!samePlatform(have, asked)) throw notFor(`image ${ref} in the engine`, have, asked, 'leave out --platform to use it as it is, or build or pull it for that platform');
}

/**
 * A file input read with --platform: its config must say that platform too, whether the image
 * came from an index entry for it or was the archive's only image.
 */
export function checkSourcePlatform(source: ImageSource, asked: Platform | undefined): ImageSource {
  if (!asked) return source;
  let checked: ReturnType<ImageSource['config']> | undefined;
  return {
    ...source,
    config: () =>
      (checked ??= source.config().then((blob) => {
        const have = platformOf(blob.config);
        if (!samePlatform(have, asked)) throw notFor(source.label, have, asked, 'leave out --platform to read it as it is');
        return blob;
      })),
  };
}
