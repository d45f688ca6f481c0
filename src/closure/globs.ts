import picomatch from 'picomatch';
import type { ImagePath } from '../rootfs/entry.js';

const GLOB_CHARS = /[*?[\]{}!]/;

export function isGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

/**
 * A matcher over absolute image paths for a set of globs; `!glob` excludes. Dot files match
 * (a path is a path), and `dir/**` also matches `dir` itself.
 */
export function globMatcher(globs: readonly string[]): (path: ImagePath) => boolean {
  const yes = globs.filter((g) => !g.startsWith('!'));
  const no = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  const opts = { dot: true };
  const pos = yes.length ? picomatch(yes.flatMap(withBase), opts) : () => false;
  const neg = no.length ? picomatch(no.flatMap(withBase), opts) : () => false;
  return (p) => pos(p) && !neg(p);
}

function withBase(g: string): string[] {
  return g.endsWith('/**') ? [g, g.slice(0, -3)] : [g];
}
