import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, opendir, readlink, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { SlimError } from '../errors.js';
import { tarStream, type TarItem } from '../tar/tar-writer.js';

const run = promisify(execFile);

/**
 * The probe's docker-archive for a runtime that builds none, built once per probe version into
 * slim's cache (`$XDG_CACHE_HOME/slim`, else `~/.cache/slim`), as an engine keeps the probe image.
 */
export async function cachedProbeArchive(probes: string, tag: string, signal: AbortSignal, say: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<Readable> {
  const dir = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'slim');
  const file = join(dir, `${tag.replace(/[^A-Za-z0-9_.-]+/g, '-')}.tar`);
  const cached = createReadStream(file);
  const opened = await new Promise<boolean>((resolve) => cached.once('open', () => resolve(true)).once('error', () => resolve(false)));
  if (opened) return cached;
  await mkdir(dir, { recursive: true });
  say(`building the probe ${tag} on this machine into ${dir} (once per probe version)`);
  const built = await probeArchiveFromHost(probes, tag, signal);
  // Written beside and renamed: two runs building it at once each finish a whole file.
  const partial = `${file}.${process.pid}.partial`;
  try {
    await pipeline(built.archive, createWriteStream(partial), { signal });
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
    await built.done();
  }
  return createReadStream(file);
}

/**
 * The probe image for a runtime that builds none (--runtime oci): probes/build.sh, the
 * Dockerfile's own build step, run on the host into a temp dir, and handed over as the
 * docker-archive the runtime loads. One layer: /.slim-probe, as the Dockerfile's image has it.
 */
export async function probeArchiveFromHost(probes: string, tag: string, signal: AbortSignal): Promise<{ archive: Readable; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'slim-probe-build-'));
  const done = () => rm(dir, { recursive: true, force: true });
  try {
    const out = join(dir, 'out');
    await run('sh', [join(probes, 'build.sh'), out], { signal }).catch((err: Error & { stderr?: string }) => {
      throw new SlimError(`cannot build the probe on this machine: ${(err.stderr || err.message).trim().split('\n').pop()}`, {
        code: 'BUILD_FAILED',
        hint: 'the daemonless runtime builds the probe with the host\'s gcc, libc6-dev and strace: apt-get install -y gcc libc6-dev strace',
      });
    });
    const layer = join(dir, 'layer.tar');
    const hash = createHash('sha256');
    let size = 0;
    const counted = new PassThrough();
    counted.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
    });
    await pipeline(tarStream(walk(join(out, '.slim-probe'), '.slim-probe')), counted, createWriteStream(layer), { signal });
    const diffId = `sha256:${hash.digest('hex')}`;
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/.slim-probe/slim-sensor'], Volumes: { '/.slim-probe': {} } },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }));
    const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: ['layer.tar'] }]));
    const items: TarItem[] = [
      { header: { name: 'config.json', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: config.length }, body: () => bufferStream(config) },
      { header: { name: 'layer.tar', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size }, body: () => createReadStream(layer) },
      { header: { name: 'manifest.json', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: manifest.length }, body: () => bufferStream(manifest) },
    ];
    return { archive: tarStream(items), done };
  } catch (err) {
    await done();
    throw err;
  }
}

function bufferStream(b: Buffer): Readable {
  const s = new PassThrough();
  s.end(b);
  return s;
}

/** The built files, owned by root whoever built them, as the image build makes them. */
async function* walk(host: string, name: string): AsyncGenerator<TarItem> {
  const st: Stats = await lstat(host);
  const header = { name, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: 0 };
  if (st.isSymbolicLink()) yield { header: { ...header, type: 'symlink', linkname: await readlink(host) } };
  else if (st.isFile()) yield { header: { ...header, type: 'file', size: st.size }, body: () => createReadStream(host) };
  else if (st.isDirectory()) {
    yield { header: { ...header, type: 'directory' } };
    const names: string[] = [];
    for await (const d of await opendir(host)) names.push(d.name);
    for (const n of names.sort()) yield* walk(join(host, n), `${name}/${n}`);
  }
}
