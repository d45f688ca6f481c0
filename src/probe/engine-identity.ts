import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { labelsFor } from '../runtime/run-settings.js';
import { resolveUser, type Identity } from '../closure/users.js';

const MAX_TEXT = 4 * 1024 * 1024;

/**
 * The user an image runs as, resolved in its passwd and group files as the engine has them,
 * through a container that is created and never started: the probe can start while slim still
 * reads the image. Undefined when either file is not a regular file there (a symlink is resolved
 * only by slim's own reading of the image, which the caller then waits for).
 */
export async function identityFromEngine(runtime: Runtime, scope: Scope, image: string, user: string | undefined): Promise<Identity | undefined> {
  const c = await runtime.create({ image, cmd: ['/slim-never-started'], labels: labelsFor(scope.id, 'identity') });
  const name = `identity container ${c.id.slice(0, 12)}`;
  scope.defer(name, () => c.remove());
  try {
    const [passwd, group] = [await fileText(c.copyOut('/etc/passwd')), await fileText(c.copyOut('/etc/group'))];
    if (passwd === null || group === null) return undefined;
    return resolveUser(user, passwd, group);
  } finally {
    scope.release(name);
    await c.remove();
  }
}

/** A one-file archive's text: undefined when there is no such file, null when it is not a regular file. */
async function fileText(archive: Promise<Readable>): Promise<string | undefined | null> {
  let stream: Readable;
  try {
    stream = await archive;
  } catch {
    return undefined;
  }
  const extract = tar.extract();
  stream.pipe(extract);
  let text: string | null = null;
  for await (const entry of extract) {
    if (text === null && entry.header.type === 'file' && (entry.header.size ?? 0) <= MAX_TEXT) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('latin1');
    } else {
      entry.resume();
    }
  }
  return text;
}
