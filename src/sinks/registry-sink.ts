import type { Logger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import { MediaType, type Digest } from '../image/types.js';
import { RegistryClient } from '../registry/client.js';
import { ArtifactType } from '../registry/artifact.js';
import { attachArtifact, detachArtifacts, pushImage, tagManifest, type Attached } from '../registry/push.js';
import { SlimError, errorMessage } from '../errors.js';
import { formatRegistryRef, type RegistryRef } from '../registry/registry-ref.js';
import type { ImageSink, SinkContext, Written } from './image-sink.js';

export interface RegistryOptions {
  /** Hosts spoken to over plain HTTP besides loopback ones. */
  insecure: string[];
  /** Push the report, trace, seccomp profile and SBOM as referrers of the image. */
  attach: boolean;
}

/**
 * What the registry sinks of one run share: one client per host (its tokens are reused), and the
 * repositories pushed to there, for later pushes to the same host to mount blobs from.
 */
export class RegistryHosts {
  private readonly hosts = new Map<string, { client: RegistryClient; repos: string[] }>();

  constructor(readonly opts: RegistryOptions) {}

  /** Repositories of a host that may hold blobs of this image (a fleet's other images): a push looks there to mount from. */
  private readonly seeded = new Map<string, string[]>();

  seed(host: string, repos: string[]): void {
    this.seeded.set(host, [...(this.seeded.get(host) ?? []), ...repos]);
  }

  host(host: string, { signal, log }: SinkContext): { client: RegistryClient; repos: string[] } {
    let h = this.hosts.get(host);
    if (!h) {
      h = { client: new RegistryClient(host, { insecure: this.opts.insecure.includes(host), signal, onRetry: (what, n, why) => log.warn(`${host}: ${what} failed (${why}); retry ${n}`) }), repos: [...(this.seeded.get(host) ?? [])] };
      this.hosts.set(host, h);
    }
    return h;
  }
}

/**
 * One repository and tag of a registry. Blobs, manifest by digest, attachments, and the tag
 * last, so that a failure anywhere leaves nothing under the tag.
 */
export class RegistrySink implements ImageSink {
  readonly kind = 'registry';
  readonly label: string;
  private readonly target: RegistryRef & { tag: string };

  /** REF as the user gave it (errors before the build name it so); TAG where REF names none. */
  constructor(private readonly ref: RegistryRef, tag: string, private readonly hosts: RegistryHosts) {
    this.target = { ...ref, tag: ref.tag ?? tag };
    this.label = `registry:${formatRegistryRef(this.target)}`;
  }

  entry(img: BuiltImage): string {
    return `${this.label}@${img.manifestDigest}`;
  }

  /** The registry answers `/v2/` and gives a token (or accepts the credentials) for a push to the repository. */
  async prepare({ signal, log }: SinkContext): Promise<void> {
    const { host, repository } = this.ref;
    log.step(`checking that ${host} takes a push to ${repository}`);
    const client = new RegistryClient(host, { insecure: this.hosts.opts.insecure.includes(host), signal, retries: 2, idleTimeoutMs: 15_000 });
    try {
      await client.checkPush(repository);
    } catch (err) {
      if (signal.aborted || !(err instanceof SlimError)) throw err;
      throw new SlimError(`--output registry:${formatRegistryRef(this.ref)}: ${err.message}`, { code: err.code, exitCode: err.exitCode, ...(err.hint ? { hint: err.hint } : {}), cause: err });
    }
  }

  async write(img: BuiltImage, ctx: SinkContext): Promise<Written> {
    const { log, evidence } = ctx;
    const ref = this.target;
    const name = formatRegistryRef(ref);
    const { client, repos } = this.hosts.host(ref.host, ctx);
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
      if (written.length) await takeBack(ref, pushed.manifest.digest, written, this.hosts.opts, log);
      throw err;
    }
    return { entry: this.entry(img), pushed: { ref: `${name}@${pushed.manifest.digest}`, digest: pushed.manifest.digest, blobs, attachments } };
  }
}

/** A sink for each registry ref, all sharing their hosts' clients. */
export function registrySinks(refs: RegistryRef[], tag: string, opts: RegistryOptions, hosts = new RegistryHosts(opts)): RegistrySink[] {
  return refs.map((ref) => new RegistrySink(ref, tag, hosts));
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
