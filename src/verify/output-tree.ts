import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** A job's output files as path -> what they hold (type, mode, content digest): no times, no owners. */
export type OutputTree = Map<string, string>;

/**
 * Read the engine's archive of a path. With `at` (the path the archive was taken of), entries are
 * named by their absolute path in the container (`/out/report.txt`), else as the archive names them.
 */
export async function readOutputTree(archive: Readable, at?: string): Promise<OutputTree> {
  const tree: OutputTree = new Map();
  const parent = at === undefined ? undefined : posix.dirname(posix.normalize(at).replace(/(.)\/+$/, '$1'));
  const extract = tar.extract();
  const feeding = pipeline(archive, extract);
  feeding.catch(() => {});
  for await (const item of extract) {
    const h = item.header;
    const inArchive = h.name.replace(/\/+$/, '');
    const name = parent === undefined ? inArchive : posix.join(parent, inArchive);
    if (h.type === 'file' || h.type === 'contiguous-file') {
      const hash = createHash('sha256');
      for await (const chunk of item as AsyncIterable<Buffer>) hash.update(chunk);
      tree.set(name, `file ${(h.mode ?? 0).toString(8)} ${h.size ?? 0} ${hash.digest('hex')}`);
    } else {
      item.resume();
      tree.set(name, h.type === 'symlink' || h.type === 'link' ? `${h.type} -> ${h.linkname ?? ''}` : `${h.type} ${(h.mode ?? 0).toString(8)}`);
    }
  }
  await feeding;
  return tree;
}

/** What differs between the original's output and the slim image's, a line each by path (at most `max`). */
export function diffOutputTrees(original: OutputTree, slim: OutputTree, max = 5): string[] {
  const out: string[] = [];
  // By path, not in the archive's (directory) order: the first line names the first differing path.
  for (const name of [...new Set([...original.keys(), ...slim.keys()])].sort()) {
    const what = original.get(name);
    const other = slim.get(name);
    if (what === undefined) out.push(`${name} is extra`);
    else if (other === undefined) out.push(`${name} is missing`);
    else if (other !== what) out.push(`${name} differs (${difference(other, what)})`);
  }
  return out.length > max ? [...out.slice(0, max), `… and ${out.length - max} more`] : out;
}

/** What differs, the slim image's first: type, else mode and/or content (or a link's target). */
function difference(slim: string, original: string): string {
  const [type, mode, ...rest] = slim.split(' ');
  const [oType, oMode, ...oRest] = original.split(' ');
  if (type !== oType) return `type ${type} vs ${oType}`;
  if (type === 'symlink' || type === 'link') return `link target ${rest.join(' ')} vs ${oRest.join(' ')}`;
  const what: string[] = [];
  if (mode !== oMode) what.push(`mode ${mode} vs ${oMode}`);
  if (rest.join(' ') !== oRest.join(' ')) what.push(rest[0] === oRest[0] ? 'content' : `content, ${rest[0]} vs ${oRest[0]} bytes`);
  return what.join(', ');
}
