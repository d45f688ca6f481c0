import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { PODMAN_SOCKET, podman } from './engine.js';
import type { FsEntry } from './rootfs.js';

const REMOTE = ['--remote', '--url', `unix://${PODMAN_SOCKET}`];

/**
 * A fixture that Docker built, in Podman under the same tag (`docker save | podman load`: the same
 * image ID, named localhost/TAG, which the short tag finds). Copied once; later runs reuse it.
 */
export function copyToPodman(tag: string): void {
  try {
    podman(['image', 'exists', tag]);
    return;
  } catch {
    /* not there yet */
  }
  execFileSync('sh', ['-c', `docker save "$1" | podman ${REMOTE.join(' ')} load -q`, 'sh', tag], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
}

/**
 * The filesystem of an image as Podman itself exports it (`podman create` + `podman export`): an
 * independent view of what slim made, not slim's own reader.
 */
export async function exportPodmanRootfs(image: string): Promise<Map<string, FsEntry>> {
  const id = podman(['create', '--entrypoint', '/nonexistent', image]).trim();
  const dir = mkdtempSync(join(tmpdir(), 'slim-podman-export-'));
  try {
    // To a file: the podman CLI opens /dev/stdout itself, which fails on a socket (Node's pipes).
    podman(['export', '--output', join(dir, 'rootfs.tar'), id]);
    const extract = tar.extract();
    createReadStream(join(dir, 'rootfs.tar')).pipe(extract as unknown as NodeJS.WritableStream);
    const out = new Map<string, FsEntry>();
    for await (const item of extract) {
      const h = item.header;
      const hash = createHash('sha256');
      for await (const c of item as AsyncIterable<Buffer>) hash.update(c);
      const name = '/' + h.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/$/, '');
      out.set(name, {
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
    podman(['rm', '-f', '-v', id]);
    rmSync(dir, { recursive: true, force: true });
  }
}
