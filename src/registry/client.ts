import type { Progress } from '../progress.js';
import type { Digest } from '../image/types.js';
import { blobExists, fetchBlob, readBlob } from './blob-read.js';
import { mountBlob, uploadBlob, type BlobSource } from './blob-upload.js';
import { pushScope } from './challenge.js';
import { discard } from './http.js';
import { deleteManifest, getManifest, MANIFEST_ACCEPT, putManifest } from './manifests.js';
import { referrersApi } from './referrers-api.js';
import { RegistryTransport, type ClientOptions } from './transport.js';

/**
 * A client for the OCI distribution API on one registry host: token and basic auth answered from
 * the registry's own challenge, transient failures retried with backoff, every digest checked.
 */
export class RegistryClient {
  readonly host: string;
  private readonly t: RegistryTransport;

  constructor(host: string, opts: ClientOptions = {}) {
    this.host = host;
    this.t = new RegistryTransport(host, opts);
  }

  blobExists(repo: string, digest: Digest): Promise<boolean> {
    return blobExists(this.t, repo, digest);
  }

  /** Ask for the blob to be linked from another repository here; an upload session when the registry declines. */
  mountBlob(repo: string, digest: Digest, from: string): Promise<'mounted' | URL> {
    return mountBlob(this.t, repo, digest, from);
  }

  uploadBlob(repo: string, blob: BlobSource, progress?: Progress, session?: URL): Promise<void> {
    return uploadBlob(this.t, repo, blob, progress, session);
  }

  putManifest(repo: string, reference: string, mediaType: string, raw: Buffer): Promise<{ digest: Digest; subject?: string }> {
    return putManifest(this.t, repo, reference, mediaType, raw);
  }

  deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return deleteManifest(this.t, repo, digest);
  }

  /**
   * Before a build that pushes here: the registry answers, and the credentials may push to `repo`
   * (a token for the push scope from the registry's token service, or Basic credentials it accepts).
   */
  async checkPush(repo: string): Promise<void> {
    await this.t.auth.authorization([pushScope(repo)]);
    if (this.t.auth.scheme === 'basic') discard(await this.t.request({ method: 'GET', url: 'v2/', scopes: [pushScope(repo)], ok: [200], what: 'checking the credentials' }));
  }

  getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<{ raw: Buffer; mediaType: string; digest: Digest } | undefined> {
    return getManifest(this.t, repo, reference, accept);
  }

  /** Stream a blob to a file, written under a temporary name and renamed only when its digest matches. */
  fetchBlob(repo: string, digest: Digest, file: string): Promise<void> {
    return fetchBlob(this.t, repo, digest, file);
  }

  readBlob(repo: string, digest: Digest, limit: number): Promise<Buffer> {
    return readBlob(this.t, repo, digest, limit);
  }

  /** The referrers API (OCI 1.1); undefined when the registry lacks it, so the caller falls back to the tag schema. */
  referrersApi(repo: string, digest: Digest): Promise<Buffer | undefined> {
    return referrersApi(this.t, repo, digest);
  }
}
