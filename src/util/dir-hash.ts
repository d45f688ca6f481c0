import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A content hash of a small folder (relative names and bytes, sorted), to tag images built from
 * it by their sources. Synchronous on purpose: it runs once, on folders of a few files.
 */
export function hashDir(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .sort();
  for (const f of files) hash.update(relative(dir, f) + '\0').update(readFileSync(f)).update('\0');
  return hash.digest('hex');
}
