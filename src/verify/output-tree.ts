import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** A job's output files as path -> what they hold (type, mode, content digest): no times, no owners. */
export type OutputTree = Map<string, string>;

export async function readOutputTree(archive: Readable): Promise<OutputTree> {
  const tree: OutputTree = new Map();
  const extract = tar.extract();
  const feeding = pipeline(archive, extract);
  feeding.catch(() => {});
  for await (const item of extract) {
    const h = item.header;
    const name = h.name.replace(/\/+$/, '');
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

/** What differs between the original's output and the slim image's, a line each (at most `max`). */
export function diffOutputTrees(original: OutputTree, slim: OutputTree, max = 5): string[] {
  const out: string[] = [];
  for (const [name, what] of original) {
    const other = slim.get(name);
    if (other === undefined) out.push(`${name} is missing`);
    else if (other !== what) out.push(`${name} differs (${describe(other)} vs ${describe(what)})`);
  }
  for (const name of slim.keys()) if (!original.has(name)) out.push(`${name} is extra`);
  return out.length > max ? [...out.slice(0, max), `… and ${out.length - max} more`] : out;
}

function describe(what: string): string {
  const [type, mode, size] = what.split(' ');
  return type === 'file' ? `${size} bytes, mode ${mode}` : what;
}
