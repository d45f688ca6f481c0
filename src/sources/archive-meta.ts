import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { SlimError, UnsafeImageError } from '../errors.js';
import { elide } from '../util/elide.js';

/**
 * The one place archive and layout metadata (manifest.json, index.json, OCI manifests, configs)
 * is parsed and layout files are opened: what is missing or broken becomes one line that names
 * the input and the problem (`oci:/x: blob sha256:… named in index.json is missing`), a
 * SlimError the user can act on, never a raw SyntaxError or ENOENT.
 */
export const MAX_JSON = 16 * 1024 * 1024;

/** `LABEL: PROBLEM`, as a BAD_ARCHIVE error. */
export function badArchive(label: string, problem: string, cause?: unknown): SlimError {
  return new SlimError(`${label}: ${problem}`, { code: 'BAD_ARCHIVE', ...(cause !== undefined ? { cause } : {}) });
}

/** `LABEL: WHAT named in WHERE is missing` (or `LABEL: WHAT is missing`). */
export function missingPart(label: string, what: string, namedIn?: string): SlimError {
  return badArchive(label, `${what}${namedIn ? ` named in ${namedIn}` : ''} is missing`);
}

/** A parser's or the system's message, on one line and short. */
export function oneLine(msg: string): string {
  return elide(msg.replace(/\s+/g, ' ').trim(), 160);
}

/**
 * Parse a metadata file of an archive or layout. `raw` undefined: the file is not there (named in
 * `namedIn`, when something named it). It must be a JSON object or array.
 */
export function metadataJson<T>(raw: Buffer | undefined, label: string, what: string, namedIn?: string): T {
  if (raw === undefined) throw missingPart(label, what, namedIn);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw badArchive(label, `${what} is not JSON (${oneLine((err as Error).message)})`, err);
  }
  if (v === null || typeof v !== 'object') throw badArchive(label, `${what} is not a JSON object (it is ${v === null ? 'null' : typeof v})`);
  return v as T;
}

/**
 * Open a file of a layout: only a regular file, never through a symlink (lstat first, so that a
 * fifo is not even opened; then O_NOFOLLOW, and the same inode). Missing: `missing()`; any other
 * failure to open it is a one-line error naming it.
 */
export async function openRegular(path: string, what: string, label: string, missing: () => SlimError): Promise<FileHandle> {
  const refuse = (why: string) => new UnsafeImageError(`${label}: ${what} is ${why}; slim reads only regular files inside the layout`);
  const cannot = (err: NodeJS.ErrnoException) => badArchive(label, `cannot open ${what} (${oneLine(err.message)})`, err);
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw missing();
    throw cannot(err);
  });
  if (st.isSymbolicLink()) throw refuse('a symlink');
  if (!st.isFile()) throw refuse('not a regular file');
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw refuse('a symlink');
    if (err.code === 'ENOENT') throw missing();
    throw cannot(err);
  });
  const now = await fh.stat();
  if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
    await fh.close();
    throw refuse('changing while it is read');
  }
  return fh;
}

/** Read a small regular file of a layout whole (index.json). */
export async function readRegular(path: string, what: string, label: string, missing: () => SlimError): Promise<Buffer> {
  const fh = await openRegular(path, what, label, missing);
  try {
    if ((await fh.stat()).size > MAX_JSON) throw new UnsafeImageError(`${label}: ${what} is too big`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
