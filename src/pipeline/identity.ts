import type { OpenedImage } from './build-types.js';
import type { RunSettings } from '../runtime/run-settings.js';
import { resolveUser, type Identity } from '../closure/users.js';
import { imageText } from '../sources/image-text.js';

/** The user the image runs as, resolved in its own passwd and group files. */
export async function identityOf({ img, spool }: OpenedImage, settings: RunSettings): Promise<Identity> {
  const text = (p: string) => imageText(img.index, spool, p);
  return resolveUser(settings.user ?? img.config.config?.User, await text('/etc/passwd'), await text('/etc/group'));
}

