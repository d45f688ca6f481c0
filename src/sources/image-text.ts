import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ContentReader } from './content-spool.js';

/** The text of a regular file of the image (the path resolved inside it), or undefined when there is none. Latin-1 keeps every byte. */
export async function imageText(index: FileIndex, content: ContentReader, path: ImagePath): Promise<string | undefined> {
  const e = index.resolve(path).entry;
  return e?.kind === 'file' ? (await content.read(e)).toString('latin1') : undefined;
}
