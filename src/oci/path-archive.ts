import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, mkdir, opendir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { tarStream, type TarHeader, type TarItem } from '../tar/tar-writer.js';
import { cleanEntryName, joinInside, parentOf } from '../rootfs/safe-path.js';
import { UnsafeImageError } from '../errors.js';
import { hostPathIn, resolveInContainer, type HostMount } from './container-paths.js';

/** A container's filesystem as the host sees it: the rootfs and what is mounted on it. */
export interface ContainerFs {
  rootfs: string;
  mounts: readonly HostMount[];
}

/**
 * `GET /containers/ID/archive?path=P`: a tar of P named by its last component, P itself not
 * followed when it is a symlink, nothing below it followed either. Fails (ENOENT) when P is not there.
 */
export async function archivePath(fs: ContainerFs, p: string): Promise<Readable> {
  const real = await resolveInContainer(fs.rootfs, fs.mounts, parentOf(p) + '/');
  const inContainer = joinInside(real, p.split('/').filter(Boolean).pop() ?? '');
  const host = hostPathIn(fs.rootfs, fs.mounts, inContainer);
  const top = await lstat(host);
  const name = p === '/' ? '.' : basename(inContainer);
  return tarStream(walk(fs, inContainer, host, name, top));
}

async function* walk(fs: ContainerFs, at: string, host: string, name: string, st: Stats): AsyncGenerator<TarItem> {
  const header: Omit<TarHeader, 'type'> = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
  if (st.isSymbolicLink()) {
    yield { header: { ...header, type: 'symlink', linkname: (await readlink(host, { encoding: 'buffer' })).toString('latin1') } };
  } else if (st.isFile()) {
    yield { header: { ...header, type: 'file', size: st.size }, body: () => createReadStream(host) };
  } else if (st.isDirectory()) {
    yield { header: { ...header, type: 'directory' } };
    const names: string[] = [];
    for await (const d of await opendir(host)) names.push(d.name);
    for (const child of names.sort()) {
      const childAt = at === '/' ? `/${child}` : `${at}/${child}`;
      // A mount below is walked where it is mounted from, as the container sees it.
      const childHost = hostPathIn(fs.rootfs, fs.mounts, childAt);
      const cst = await lstat(childHost).catch(() => undefined);
      if (cst) yield* walk(fs, childAt, childHost, `${name}/${child}`, cst);
    }
  }
}

/**
 * `PUT /containers/ID/archive?path=DIR`: extract a tar into DIR of the container, with the owners
 * and modes it carries. Each entry's parent is resolved in the container's view, so no entry and
 * no symlink in the archive or the container leads out of it; an entry that climbs out is refused.
 */
export async function extractInto(fs: ContainerFs, dir: string, archive: Readable): Promise<void> {
  const extract = tar.extract();
  const feeding = pipeline(archive, extract);
  feeding.catch(() => {});
  const dirTimes: { host: string; mtime: number }[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const rel = cleanEntryName(h.name);
    const target = joinInside(dir, rel.slice(1));
    if (target === dir && h.type === 'directory') {
      entry.resume();
      continue;
    }
    const parent = await resolveInContainer(fs.rootfs, fs.mounts, parentOf(target) + '/');
    const inContainer = joinInside(parent, target.split('/').pop()!);
    const host = hostPathIn(fs.rootfs, fs.mounts, inContainer);
    // Parents the archive does not list are made, as the engine's extraction makes them.
    await mkdir(dirname(host), { recursive: true });
    const existing = await lstat(host).catch(() => undefined);
    if (existing && !(existing.isDirectory() && h.type === 'directory')) await rm(host, { recursive: true, force: true });
    const mtime = Math.floor((h.mtime?.getTime() ?? Date.now()) / 1000);
    switch (h.type) {
      case 'directory':
        await mkdir(host, { recursive: false }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        await lchown(host, h.uid ?? 0, h.gid ?? 0);
        await chmod(host, (h.mode ?? 0o755) & 0o7777);
        dirTimes.push({ host, mtime });
        entry.resume();
        break;
      case 'file':
        await pipeline(entry, createWriteStream(host, { flags: 'wx', mode: 0o600 }));
        await lchown(host, h.uid ?? 0, h.gid ?? 0);
        await chmod(host, (h.mode ?? 0o644) & 0o7777);
        await utimes(host, mtime, mtime);
        break;
      case 'symlink':
        await symlink(h.linkname ?? '', host);
        await lchown(host, h.uid ?? 0, h.gid ?? 0);
        entry.resume();
        break;
      case 'link': {
        const linked = cleanEntryName(h.linkname ?? '', 'hard link target');
        const real = await resolveInContainer(fs.rootfs, fs.mounts, joinInside(dir, linked.slice(1)), { followLast: false });
        await link(hostPathIn(fs.rootfs, fs.mounts, real), host);
        entry.resume();
        break;
      }
      default:
        entry.resume();
        throw new UnsafeImageError(`archive entry "${h.name}" has a type slim does not copy (${h.type})`);
    }
  }
  await feeding;
  for (const d of dirTimes.reverse()) await utimes(d.host, d.mtime, d.mtime);
}
