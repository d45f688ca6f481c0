import type Docker from 'dockerode';
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InternalError, SlimError } from '../errors.js';
import { CLEANUP, REQUEST, dial, statusOf, wrap, type DockerEngine } from './docker-requests.js';
import { destroyOnAbort, readJsonMessages } from './docker-streams.js';
import { familiarName, loadedImageOf, qualifiedName } from './engine-flavour.js';
import { dockerArchiveOnly } from './podman-archive.js';
import type { ImageInspect } from './runtime.js';

export async function inspectImage({ docker, calls, flavour }: DockerEngine, ref: string): Promise<ImageInspect | undefined> {
  try {
    const i = await calls.call(`inspecting image ${ref}`, (s) => dial<Docker.ImageInspectInfo>(docker, `/images/${ref}/json`, 'GET', { 200: true, 404: 'no such image', 500: 'server error' }, s), REQUEST);
    const podman = (await flavour()) === 'podman';
    const config = (i.Config ?? {}) as ImageInspect['config'];
    // Podman's compatible inspect leaves the image's HEALTHCHECK out of Config; its own API has it.
    if (podman && !config.Healthcheck) {
      const own = await calls.call(`inspecting image ${ref}`, (s) => dial<{ Healthcheck?: ImageInspect['config']['Healthcheck'] }>(docker, `/v4.0.0/libpod/images/${i.Id}/json`, 'GET', { 200: true, 404: 'no such image', 500: 'server error' }, s), REQUEST);
      if (own.Healthcheck) config.Healthcheck = own.Healthcheck;
    }
    return {
      id: i.Id,
      repoTags: (i.RepoTags ?? []).map((t) => (podman ? familiarName(t) : t)),
      size: i.Size,
      os: i.Os,
      architecture: i.Architecture,
      ...((i as { Variant?: string }).Variant ? { variant: (i as { Variant?: string }).Variant } : {}),
      config,
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw wrap(`inspecting image ${ref}`, err);
  }
}

export async function saveImage({ docker, calls }: DockerEngine, ref: string, signal: AbortSignal): Promise<Readable> {
  try {
    // No timeout: the engine answers `docker save` only once it has exported the image; the abort ends it.
    const s = await calls.call(`saving image ${ref}`, (abortSignal) => dial<Readable>(docker, `/images/${ref}/get`, 'GET', { 200: true, 500: 'server error' }, abortSignal, true), { signal });
    destroyOnAbort(s, signal, calls);
    return s;
  } catch (err) {
    throw wrap(`saving image ${ref}`, err);
  }
}

export async function loadImage(engine: DockerEngine, archive: Readable, signal: AbortSignal): Promise<string> {
  const { docker, calls } = engine;
  let res: NodeJS.ReadableStream;
  const upload = (await engine.flavour()) === 'podman' ? dockerArchiveOnly(archive) : archive;
  try {
    // An abort cuts the upload (the engine then loads nothing); once the archive is all sent the
    // engine's answer is awaited, so that an image it loaded is known and removed by the caller.
    const cut = () => void (archive.readableEnded || archive.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted')));
    signal.addEventListener('abort', cut, { once: true });
    const detach = calls.onAbort(cut);
    try {
      res = await calls.call('loading the image', () => docker.loadImage(upload, { quiet: true }), { abortable: false });
    } finally {
      signal.removeEventListener('abort', cut);
      detach();
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    calls.throwIfAborted();
    if (err instanceof SlimError) throw err;
    throw wrap('loading the image into the engine', err);
  }
  const messages = await readJsonMessages(res);
  const failure = messages.find((m) => m.error || m.errorDetail);
  if (failure) throw new SlimError(`the engine refused the image: ${failure.error ?? failure.errorDetail?.message}`, { code: 'LOAD_FAILED' });
  // A tagged load reports the tag instead of the ID: the tag says which image it is.
  const reported = loadedImageOf(messages);
  const loaded = reported.id ?? (reported.name ? (await inspectImage(engine, reported.name))?.id : undefined);
  if (!loaded) throw new SlimError(`the engine did not report the loaded image: ${JSON.stringify(messages).slice(0, 300)}`, { code: 'LOAD_FAILED' });
  return loaded;
}

export async function tagImage({ docker, calls, flavour }: DockerEngine, id: string, repository: string, tag: string): Promise<void> {
  const repo = qualifiedName(await flavour(), repository);
  try {
    await calls.call(`tagging ${id}`, (abortSignal) => docker.getImage(id).tag({ repo, tag, abortSignal }), REQUEST);
  } catch (err) {
    throw wrap(`tagging ${id} as ${repository}:${tag}`, err);
  }
}

export async function removeImage({ docker, calls, flavour }: DockerEngine, ref: string): Promise<void> {
  // The name slim tagged (see qualifiedName), not whatever else Podman's short-name lookup finds.
  const name = qualifiedName(await flavour(), ref);
  try {
    await calls.call(`removing image ${ref}`, (abortSignal) => docker.getImage(name).remove({ noprune: false, abortSignal }), CLEANUP);
  } catch (err) {
    if (err instanceof SlimError) throw err;
    if (statusOf(err) !== 404) throw wrap(`removing image ${ref}`, err);
  }
}

export async function removeTag(engine: DockerEngine, ref: string): Promise<void> {
  // By ID the engine would remove the image whatever else names it: only tags are removed here.
  if (/^(sha256:)?[0-9a-f]{12,64}$/.test(ref) || !/:[\w][\w.-]*$/.test(ref)) throw new InternalError(`removeTag takes REPOSITORY:TAG, not "${ref}"`);
  await removeImage(engine, ref);
}

export async function buildImage({ docker, calls, flavour }: DockerEngine, contextDir: string, tag: string, buildArgs: Record<string, string>, signal: AbortSignal): Promise<void> {
  const src = (await readdir(contextDir, { recursive: true })).map(String);
  const t = qualifiedName(await flavour(), tag);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await calls.call(`building ${tag}`, (abortSignal) => docker.buildImage({ context: contextDir, src }, { t, buildargs: buildArgs, networkmode: 'host', rm: true, forcerm: true, abortSignal }), { signal });
  } catch (err) {
    if (err instanceof SlimError) throw err;
    throw wrap(`building ${tag}`, err);
  }
  destroyOnAbort(stream as Readable, signal, calls);
  const messages = await readJsonMessages(stream);
  const failure = messages.find((m) => m.error || m.errorDetail);
  if (failure) {
    const tail = messages.map((m) => m.stream ?? '').join('').trim().split('\n').slice(-8).join('\n');
    throw new SlimError(`building ${tag} failed: ${failure.error ?? failure.errorDetail?.message}\n${tail}`, { code: 'BUILD_FAILED' });
  }
}

export async function removeDanglingImages({ docker, calls }: DockerEngine, label: string): Promise<number> {
  let removed = 0;
  // Podman keeps a build stage as a chain of untagged images, and a parent goes only after its
  // child: one pass removes the leaves, the next their parents, until a pass removes nothing.
  for (let pass = 0; pass < 50; pass++) {
    const images = await calls.call('listing images', (abortSignal) => docker.listImages({ filters: { dangling: ['true'], label: [label] }, abortSignal }), REQUEST);
    let now = 0;
    for (const i of images) {
      try {
        await calls.call(`removing image ${i.Id}`, (abortSignal) => docker.getImage(i.Id).remove({ abortSignal }), CLEANUP);
        now++;
      } catch {
        /* in use by a build running right now: it goes next time */
      }
    }
    removed += now;
    if (now === 0) break;
  }
  return removed;
}
