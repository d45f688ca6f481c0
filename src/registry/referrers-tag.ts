import { SlimError } from '../errors.js';
import { referrersOf, withReferrer, type ArtifactManifest } from './artifact.js';

/** The referrers index under its `sha256-…` tag, read and written whole. */
export interface IndexStore {
  get(): Promise<Buffer | undefined>;
  put(raw: Buffer): Promise<void>;
}

export interface AddReferrerOptions {
  /** Writes tried before giving up. */
  rounds?: number;
  /** Waits between a write and the check that it still holds (ms, jittered by the caller's choice). */
  settle?: () => Promise<void>;
}

const jitter = () => new Promise<void>((r) => setTimeout(r, 100 + Math.floor(Math.random() * 200)));

/**
 * Add the artifact to the referrers index. A registry has no conditional manifest PUT, so two jobs
 * attaching to the same image at once (slim is deterministic: equal inputs give the same digest)
 * can each write an index without the other's entry. So the entry is read back after a pause,
 * and merged in again while it is missing.
 */
export async function addReferrer(store: IndexStore, artifact: ArtifactManifest, opts: AddReferrerOptions = {}): Promise<number> {
  const rounds = opts.rounds ?? 5;
  const settle = opts.settle ?? jitter;
  const listed = (raw: Buffer | undefined) => raw !== undefined && referrersOf(raw).some((m) => m.digest === artifact.digest);
  let current = await store.get();
  for (let writes = 0; writes < rounds; ) {
    if (!listed(current)) {
      await store.put(withReferrer(current, artifact));
      writes++;
    }
    await settle();
    current = await store.get();
    if (listed(current)) return writes;
  }
  throw new SlimError(`the referrers index kept losing artifact ${artifact.digest} to concurrent writers (${rounds} writes); the artifact is pushed but not listed`, { code: 'REFERRERS_RACE' });
}
