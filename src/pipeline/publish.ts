import type { Logger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType } from '../image/types.js';
import { RegistryClient } from '../registry/client.js';
import { ArtifactType, type ArtifactFile } from '../registry/artifact.js';
import { attachArtifact, detachArtifacts, pushImage, tagManifest, type Attached, type Pushed } from '../registry/push.js';
import type { Digest } from '../image/types.js';
import { SlimError, errorMessage } from '../errors.js';
import { formatRegistryRef, type RegistryRef } from '../registry/registry-ref.js';

export interface RegistryOptions {
  /** Hosts spoken to over plain HTTP besides loopback ones. */
  insecure: string[];
  /** Push the report, trace, seccomp profile and SBOM as referrers of the image. */
  attach: boolean;
}

export interface Evidence {
  /** Files of the slim evidence artifact: report, trace, seccomp profile. */
  files: ArtifactFile[];
  /** The SBOM, attached on its own with the artifactType scanners look for. */
  sbom?: ArtifactFile;
  annotations: Record<string, string>;
}

/**
 * Push to each registry: blobs, manifest by digest, attachments, and the tag last, so that a
 * failure anywhere leaves nothing under the tag. Repositories on one host share blobs by mounts.
 */
export async function publishToRegistries(targets: (RegistryRef & { tag: string })[], img: BuiltImage, evidence: Evidence | undefined, opts: RegistryOptions, log: Logger, signal: AbortSignal): Promise<Pushed[]> {
  // One client per host (its tokens are reused), and the repositories it has pushed to, to mount from.
  const hosts = new Map<string, { client: RegistryClient; repos: string[] }>();
  const out: Pushed[] = [];
  for (const ref of targets) {
    const name = formatRegistryRef(ref);
    let host = hosts.get(ref.host);
    if (!host) {
      host = { client: new RegistryClient(ref.host, { insecure: opts.insecure.includes(ref.host), signal, onRetry: (what, n, why) => log.warn(`${ref.host}: ${what} failed (${why}); retry ${n}`) }), repos: [] };
      hosts.set(ref.host, host);
    }
    const { client, repos } = host;
    log.step(`pushing ${name}`);
    const pushed = await pushImage(client, ref.repository, img, repos);
    repos.push(ref.repository);
    const count = (o: string) => pushed.blobs.filter((b) => b.outcome === o).length;
    const blobs = { uploaded: count('uploaded'), mounted: count('mounted'), existed: count('exists') };
    log.info(`${name}: manifest ${pushed.manifest.digest}; blobs uploaded ${blobs.uploaded}, mounted ${blobs.mounted}, already there ${blobs.existed}`);
    const attachments: Attached[] = [];
    // Every artifact about to be written: taken back if the tag is not set in the end.
    const written: Digest[] = [];
    const onDigest = (d: Digest) => void written.push(d);
    try {
      if (evidence) {
        attachments.push(await attachArtifact(client, ref.repository, pushed.manifest, ArtifactType.evidence, evidence.files, evidence.annotations, onDigest));
        if (evidence.sbom) attachments.push(await attachArtifact(client, ref.repository, pushed.manifest, ArtifactType.sbom, [evidence.sbom], evidence.annotations, onDigest));
        log.info(`${name}: attached ${[...evidence.files, ...(evidence.sbom ? [evidence.sbom] : [])].map((f) => f.title).join(', ')} (${attachments[0]!.via})`);
      }
      await tagManifest(client, ref.repository, ref.tag, { mediaType: MediaType.ociManifest, raw: img.manifestRaw });
    } catch (err) {
      if (written.length) await takeBack(ref, pushed.manifest.digest, written, opts, log);
      throw err;
    }
    out.push({ ref: `${name}@${pushed.manifest.digest}`, digest: pushed.manifest.digest, blobs, attachments });
  }
  return out;
}

/**
 * The evidence is published only with the image: when its tag could not be set, the attachments
 * written for it are taken back. With a client of its own, without the run's signal: this also
 * runs after Ctrl-C, bounded by the client's timeouts.
 */
async function takeBack(ref: RegistryRef, subject: Digest, digests: Digest[], opts: RegistryOptions, log: Logger): Promise<void> {
  const name = formatRegistryRef(ref);
  const client = new RegistryClient(ref.host, { insecure: opts.insecure.includes(ref.host), retries: 1, idleTimeoutMs: 15_000 });
  try {
    const left = await detachArtifacts(client, ref.repository, subject, digests);
    if (left.length) log.warn(`${name}: the image was not tagged; left in the registry: ${left.join('; ')}`);
    else log.info(`${name}: the image was not tagged, so its attachments were removed again`);
  } catch (err) {
    log.warn(`${name}: the image was not tagged, and removing its attachments failed: ${errorMessage(err)}`);
  }
}

/**
 * Before the build: each registry output's registry answers `/v2/` and gives a token (or accepts
 * the credentials) for a push to its repository. A CI job with a wrong host or credentials then
 * fails in seconds, not after probing and verifying.
 */
export async function checkRegistries(targets: RegistryRef[], opts: RegistryOptions, log: Logger, signal: AbortSignal): Promise<void> {
  for (const ref of targets) {
    const name = formatRegistryRef(ref);
    log.step(`checking that ${ref.host} takes a push to ${ref.repository}`);
    const client = new RegistryClient(ref.host, { insecure: opts.insecure.includes(ref.host), signal, retries: 2, idleTimeoutMs: 15_000 });
    try {
      await client.checkPush(ref.repository);
    } catch (err) {
      if (signal.aborted || !(err instanceof SlimError)) throw err;
      throw new SlimError(`--output registry:${name}: ${err.message}`, { code: err.code, exitCode: err.exitCode, ...(err.hint ? { hint: err.hint } : {}), cause: err });
    }
  }
}
