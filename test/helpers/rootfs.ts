import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { docker } from './engine.js';

export interface FsEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  sha256?: string;
  size: number;
  linkname?: string;
}

/**
 * The filesystem of an image as the engine itself exports it (`docker create` + `docker export`),
 * an independent view to check slim's output against, not slim's own reader.
 */
export async function exportRootfs(image: string): Promise<Map<string, FsEntry>> {
  const id = docker(['create', '--entrypoint', '/nonexistent', image]).trim();
  try {
    const child = spawn('docker', ['export', id], { stdio: ['ignore', 'pipe', 'inherit'] });
    const extract = tar.extract();
    child.stdout.pipe(extract as unknown as NodeJS.WritableStream);
    const out = new Map<string, FsEntry>();
    for await (const item of extract) {
      const h = item.header;
      const hash = createHash('sha256');
      for await (const c of item as AsyncIterable<Buffer>) hash.update(c);
      const name = '/' + h.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/$/, '');
      out.set(name === '/' ? '/' : name, {
        type: h.type,
        mode: h.mode & 0o7777,
        uid: h.uid,
        gid: h.gid,
        size: h.size,
        ...(h.type === 'file' ? { sha256: hash.digest('hex') } : {}),
        ...(h.linkname ? { linkname: h.linkname } : {}),
      });
    }
    return out;
  } finally {
    docker(['rm', '-f', '-v', id]);
  }
}

/** Paths the engine creates in every container, whatever the image holds. */
export const ENGINE_PATHS = new Set(['/', '/.dockerenv', '/dev', '/dev/console', '/dev/pts', '/dev/shm', '/etc', '/etc/hostname', '/etc/hosts', '/etc/mtab', '/etc/resolv.conf', '/proc', '/sys']);

/** What makes `thin` not a faithful subset of `orig` (a path not there, or with another type, mode, owner, link or content), and how many files it holds. */
export function subsetProblems(orig: Map<string, FsEntry>, thin: Map<string, FsEntry>): { problems: string[]; files: number } {
  const contentOf = (fs: Map<string, FsEntry>, e: FsEntry) => (e.type === 'link' ? fs.get('/' + e.linkname!.replace(/^\/+/, ''))?.sha256 : e.sha256);
  const kind = (t: string) => (t === 'link' ? 'file' : t);
  const problems: string[] = [];
  let files = 0;
  for (const [path, e] of thin) {
    if (ENGINE_PATHS.has(path)) continue;
    const o = orig.get(path);
    if (!o) {
      problems.push(`${path}: not in the original`);
      continue;
    }
    if (kind(o.type) !== kind(e.type)) problems.push(`${path}: ${e.type} here, ${o.type} in the original`);
    if (o.mode !== e.mode || o.uid !== e.uid || o.gid !== e.gid) problems.push(`${path}: ${e.mode.toString(8)} ${e.uid}:${e.gid}, original ${o.mode.toString(8)} ${o.uid}:${o.gid}`);
    if (e.type === 'symlink' && o.linkname !== e.linkname) problems.push(`${path}: link to ${e.linkname}, original ${o.linkname}`);
    if (kind(e.type) === 'file') {
      files++;
      if (contentOf(thin, e) !== contentOf(orig, o)) problems.push(`${path}: content differs`);
    }
  }
  return { problems, files };
}
