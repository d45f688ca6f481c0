import type { OpenedImage } from './build.js';
import type { RunSettings } from './run-settings.js';
import { resolveUser, type Identity } from '../closure/users.js';

/** The user the image runs as, resolved in its own passwd and group files. */
export async function identityOf({ img, spool }: OpenedImage, settings: RunSettings): Promise<Identity> {
  const text = async (p: string) => {
    const e = img.index.resolve(p).entry;
    return e?.kind === 'file' ? (await spool.read(e)).toString('latin1') : undefined;
  };
  return resolveUser(settings.user ?? img.config.config?.User, await text('/etc/passwd'), await text('/etc/group'));
}

