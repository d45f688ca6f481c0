import { createHash } from 'node:crypto';
import type { Runtime } from './runtime.js';
import type { Scope } from './scope.js';

/** A repository path component as the engine accepts it (distribution's reference grammar). */
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * The name a run gives an image it loads: `slim-run/<run id>:<role>` (roles: `input`, `slim-0`,
 * `slim-1`…). Unique to the run, so parallel runs never take each other's images away, whatever
 * the images' IDs.
 */
export function runImageRef(runId: string, role: string): string {
  const component = COMPONENT.test(runId)
    ? runId
    : `${runId.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'run'}-${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`;
  return `slim-run/${component}:${role}`;
}

/** An image a run holds by its run tag. */
export interface HeldImage {
  /** What the archive that loads it names it (docker-archive manifest.json RepoTags): the run tag, or nothing. */
  repoTags: string[];
  /** Remove the run tag now instead of when the run ends. */
  release(): Promise<void>;
}

/**
 * Hold the image `id` (its true ID: the sha256 of its config) for this run, before it is loaded:
 * the archive tags it with the run tag, and the run removes that tag when it ends, whatever
 * happens. Removing a tag only untags an image that has other tags (the user's, another run's);
 * removing the last one removes the image. An untagged image that was in the engine before is
 * nobody's to remove: it is neither tagged nor removed.
 */
export async function holdImage(runtime: Runtime, scope: Scope, id: string, role: string): Promise<HeldImage> {
  const before = await runtime.inspectImage(id);
  if (before && before.repoTags.filter((t) => t !== '<none>:<none>').length === 0) return { repoTags: [], release: async () => {} };
  const ref = runImageRef(scope.id, role);
  const name = `image ${ref}`;
  scope.defer(name, () => runtime.removeTag(ref));
  return {
    repoTags: [ref],
    release: async () => {
      scope.release(name);
      await runtime.removeTag(ref);
    },
  };
}
