import { writeFile } from 'node:fs/promises';
import { SlimError } from '../errors.js';

/** Writes an `--html` page; a path that cannot be written is the user's to fix, said in one line. */
export async function writeHtml(file: string, html: string): Promise<void> {
  try {
    await writeFile(file, html);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SlimError(`cannot write the HTML report ${file}: ${e.code ?? e.message}`, { code: 'OUTPUT_FAILED', cause: err });
  }
}
