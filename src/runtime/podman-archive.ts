import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import tar from 'tar-stream';

type Rename = (header: tar.Header) => tar.Header | undefined;

/**
 * A tar stream re-packed entry by entry: `rename` gives each header as it goes on, or undefined to
 * drop the entry. An error (or destruction) on either side ends the other, so an aborted upload
 * still cuts the engine's side and a consumer that stops still releases the source.
 */
export function retar(input: Readable, rename: Rename, onLastEntry?: () => void): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, body, next) => {
    let out: tar.Header | undefined;
    try {
      out = rename(header);
    } catch (err) {
      pack.destroy(err as Error);
      input.destroy();
      return;
    }
    if (!out) {
      body.on('end', () => next());
      body.resume();
      return;
    }
    const sink = pack.entry(out, (err) => next(err ?? undefined));
    if (out.type === 'file' || out.type === 'contiguous-file' || out.type === undefined) pipeline(body, sink, () => {});
    else body.resume();
  });
  extract.on('finish', () => {
    onLastEntry?.();
    pack.finalize();
  });
  pipeline(input, extract, (err) => {
    if (err) pack.destroy(err);
  });
  pack.on('close', () => {
    if (!input.readableEnded) input.destroy();
  });
  return pack as unknown as Readable;
}

/** The entries that make a tarball an OCI image layout too (slim's own archives carry both). */
const OCI_LAYOUT = new Set(['oci-layout', 'index.json']);

/**
 * A docker-archive that Podman reads as one. Podman tries a tarball as an OCI archive before a
 * docker-archive, and an OCI archive's image gets no name from manifest.json: the run tag in
 * RepoTags would be lost and the image left untagged. Without `oci-layout` and `index.json` it is
 * read as the docker-archive it also is (its blobs/ entries stay: manifest.json points at them).
 */
export function dockerArchiveOnly(archive: Readable): Readable {
  return retar(archive, (h) => (OCI_LAYOUT.has(h.name.replace(/^\.\//, '')) ? undefined : h));
}

/**
 * Docker's names for an archive of `path`: Podman names the entries of a volume's mount point
 * from the volume's own root (`/`, `/a.txt`), where Docker names them from the path's base
 * (`out/`, `out/a.txt`), as it does for every other directory. Entries named otherwise pass as they are.
 */
export function dockerArchiveNames(archive: Readable, path: string): Readable {
  const base = posix.basename(posix.normalize(path).replace(/(.)\/+$/, '$1'));
  const root = base === '/' || base === '' ? '.' : base;
  return retar(archive, (h) => {
    if (!h.name.startsWith('/')) return h;
    const rest = h.name.replace(/^\/+/, '');
    return { ...h, name: rest ? `${root}/${rest}` : `${root}/` };
  });
}

/**
 * Podman extracts an archive PUT at `path` into the filesystem `path` is on: an entry that leads
 * into a volume mounted below it lands in the directory the volume hides, where Docker follows the
 * mount. So the archive goes to the mount its first entry is in (of `mounts`, the container's
 * volume targets), its entries named from there; an entry outside that mount is refused.
 */
export function intoMount(archive: Readable, path: string, mounts: readonly string[]): { target: Promise<string>; archive: Readable } {
  let at: string | undefined;
  let found: (t: string) => void = () => {};
  const target = new Promise<string>((resolve) => (found = resolve));
  const mountOf = (abs: string) => mounts.filter((m) => abs === m || abs.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
  const out = retar(
    archive,
    (h) => {
      const abs = posix.join(path, h.name).replace(/(.)\/+$/, '$1');
      if (at === undefined) {
        at = mountOf(abs) ?? path;
        found(at);
      }
      const rel = posix.relative(at, abs);
      if (rel === '..' || rel.startsWith('../')) throw new Error(`${abs} is outside ${at}, where the rest of the archive goes`);
      return { ...h, name: rel === '' ? './' : rel };
    },
    // An archive with no entry at all goes where it was sent.
    () => found(path),
  );
  out.once('error', () => found(path));
  return { target, archive: out };
}
