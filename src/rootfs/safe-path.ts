import { UnsafeImageError } from '../errors.js';
import type { ImagePath } from './entry.js';

/**
 * Turn a tar entry name into an absolute image path. Names that climb out of the root (`..`)
 * are rejected, naming the entry, never clamped: an archive that tries it is hostile or broken.
 */
export function cleanEntryName(name: string, what = 'entry'): ImagePath {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new UnsafeImageError(`unsafe ${what} "${printable(name)}": it climbs out of the image root`);
    parts.push(part);
  }
  return '/' + parts.join('/');
}

const NEEDS_FOLDING = /\/\/|(?:^|\/)\.\.?(?:\/|$)|\/$/;

/** Lexical join for symlink resolution: `..` at the root stays at the root, as the kernel does in a container. */
export function joinInside(dir: ImagePath, rel: string): ImagePath {
  // The common case, a clean name under a clean directory, needs no splitting (traces join millions).
  if (!NEEDS_FOLDING.test(rel) && !NEEDS_FOLDING.test(dir)) {
    if (rel.startsWith('/')) return rel;
    if (rel !== '' && dir.startsWith('/')) return dir === '/' ? '/' + rel : dir + '/' + rel;
  }
  const parts = rel.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

export function parentOf(p: ImagePath): ImagePath {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: ImagePath): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Every ancestor of p, root first, p excluded. */
export function ancestors(p: ImagePath): ImagePath[] {
  const out: ImagePath[] = [];
  let cur = p;
  while (cur !== '/') {
    cur = parentOf(cur);
    out.push(cur);
  }
  return out.reverse();
}

function printable(name: string): string {
  return Buffer.from(name, 'latin1').toString('utf8').replace(/[\x00-\x1f]/g, '?');
}
