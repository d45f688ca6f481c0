import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_CONTEXT } from '../lint.js';
import type { Finding } from '../rules/rule.js';

/**
 * Where a finding is, for the formats: a file and, for a Dockerfile line, the line. A finding
 * about the context as a whole (no ignore file to point at) is placed on its Dockerfile, lineless.
 */
export function placeOf(f: Finding): { path: string; line: number | null; wholeContext: boolean } {
  if (f.line > 0) return { path: f.file, line: f.line, wholeContext: false };
  return f.file === BUILD_CONTEXT ? { path: f.dockerfile, line: null, wholeContext: true } : { path: f.file, line: null, wholeContext: false };
}

/** `Dockerfile:12`, `.dockerignore`, `Dockerfile (build context)`. */
export function placeText(f: Finding): string {
  const p = placeOf(f);
  return p.line !== null ? `${p.path}:${p.line}` : p.wholeContext ? `${p.path} ${BUILD_CONTEXT}` : p.path;
}

/** A path as a URI reference: relative paths stay relative (code scanning resolves them against the checkout). */
export function pathUri(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return normalisePath(path).split('/').map(encodeURIComponent).join('/');
}

/** `./a//b` and `a\b` as `a/b`: the same file gives the same name in every run. */
export function normalisePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/\/{2,}/g, '/').replace(/^(\.\/)+/, '');
}
