import type { Logger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType } from '../image/types.js';
import { RegistryClient } from '../registry/client.js';
import { ArtifactType, type ArtifactFile } from '../registry/artifact.js';
import { attachArtifact, pushImage, tagManifest, type Attached } from '../registry/push.js';
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

export interface Pushed {
  ref: string;
  digest: string;
  blobs: { uploaded: number; mounted: number; existed: number };
  attachments: Attached[];
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
    if (evidence) {
      attachments.push(await attachArtifact(client, ref.repository, pushed.manifest, ArtifactType.evidence, evidence.files, evidence.annotations));
      if (evidence.sbom) attachments.push(await attachArtifact(client, ref.repository, pushed.manifest, ArtifactType.sbom, [evidence.sbom], evidence.annotations));
      log.info(`${name}: attached ${[...evidence.files, ...(evidence.sbom ? [evidence.sbom] : [])].map((f) => f.title).join(', ')} (${attachments[0]!.via})`);
    }
    await tagManifest(client, ref.repository, ref.tag, { mediaType: MediaType.ociManifest, raw: img.manifestRaw });
    out.push({ ref: `${name}@${pushed.manifest.digest}`, digest: pushed.manifest.digest, blobs, attachments });
  }
  return out;
}
