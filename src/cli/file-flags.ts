import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { parseImageName } from '../image/reference.js';
import { parseRegistryRef } from '../registry/registry-ref.js';
import { parseSourceRef } from '../sources/source-ref.js';

/**
 * A file slim writes when it is done (--report, --html, --sbom, --trace-out, …): a directory
 * that is not there is found before the build, not after minutes of it. The write itself can
 * still fail later (a full disk), and says so in a line of its own.
 */
export async function checkWritableFile(flag: string, file: string): Promise<void> {
  const dir = dirname(resolve(file));
  const kind = await stat(dir).then((s) => (s.isDirectory() ? 'dir' : 'other'), () => 'missing');
  if (kind !== 'dir') throw new UsageError(`${flag} ${file}: ${kind === 'missing' ? 'no such directory' : 'not a directory'}: ${dir}`);
  if (await stat(file).then((s) => s.isDirectory(), () => false)) throw new UsageError(`${flag} ${file} is a directory`);
}

/** A file slim reads (--trace): there and a file, or a usage error before the image is read. */
export async function checkReadableFile(flag: string, file: string): Promise<void> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) throw new UsageError(`cannot read ${flag} ${file}: ${st.code ?? st.message}`);
  if (!st.isFile()) throw new UsageError(`${flag} ${file} is not a file`);
}

/**
 * An input as the commands take it, its name checked before the engine or a registry is asked:
 * an engine image must be a valid reference (or an ID), a registry: input HOST/REPO[:TAG|@DIGEST].
 * Files and layouts are looked at when they are read.
 */
export function checkInputRef(image: string): void {
  const ref = parseSourceRef(image);
  if (ref.kind === 'engine') parseImageName(ref.ref);
  else if (ref.kind === 'registry') parseRegistryRef(ref.ref);
}

/** The files of a command's flags, those given: the ones it writes and the ones it reads. */
export async function checkFileFlags(writes: Record<string, string | undefined>, reads: Record<string, string | undefined> = {}): Promise<void> {
  for (const [flag, file] of Object.entries(reads)) if (file !== undefined) await checkReadableFile(flag, file);
  for (const [flag, file] of Object.entries(writes)) if (file !== undefined) await checkWritableFile(flag, file);
}
