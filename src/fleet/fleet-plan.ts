import { join } from 'node:path';
import { SlimError, UsageError } from '../errors.js';
import type { Digest, ImageConfig } from '../image/types.js';
import type { Logger } from '../log.js';
import { ArtifactType } from '../registry/artifact.js';
import { listAttachments } from '../registry/attachments.js';
import { RegistryClient } from '../registry/client.js';
import { formatRegistryRef, parseRegistryRef } from '../registry/registry-ref.js';
import { registrySource } from '../registry/registry-source.js';
import type { Scope } from '../runtime/scope.js';
import { ContentSpool } from '../sources/content-spool.js';
import { readImage, type ReadImage } from '../sources/read-image.js';
import { entriesOf, writeFleetLayer } from './fleet-layers.js';
import { planSharing, type FleetEntry, type SharePlanOptions } from './share-plan.js';

/**
 * What the fan-in step of a fleet hands the fan-out jobs: the shared layers (their paths and the
 * digest any job packing them must get) and, per image, its layers and the key of every file it
 * holds, so that a job repacking it can prove it has the same files.
 */
export interface FleetPlanFile {
  kind: 'slim-fleet-plan';
  version: 1;
  strategy: string;
  why: string;
  shared: { images: number[]; paths: string[]; bytes: number; digest: Digest; size: number }[];
  images: {
    ref: string;
    /** The manifest digest of the single-layer image the plan was made from. */
    digest: Digest;
    /** From its evidence: the original it was slimmed from, and the check it passed. */
    source: { ref: string; id: string };
    checks: string[];
    /** Its image config, which the layered image keeps (with its layers and their history). */
    config: ImageConfig;
    layers: number[];
    own: string[];
    keys: Record<string, string>;
  }[];
}

interface Deps {
  log: Logger;
  scope: Scope;
  insecure: string[];
}

/** A slim image in a registry, read with its evidence: a build that did not pass is no member of a plan. */
export async function readMember(text: string, deps: Deps): Promise<{ ref: string; digest: Digest; read: ReadImage; spool: ContentSpool; entries: FleetEntry[]; source: { ref: string; id: string }; checks: string[] }> {
  const ref = parseRegistryRef(text.replace(/^registry:/, ''));
  const name = formatRegistryRef(ref);
  const { signal } = deps.scope;
  const client = new RegistryClient(ref.host, { insecure: deps.insecure.includes(ref.host), signal, onRetry: (what, n, why) => deps.log.warn(`${ref.host}: ${what} failed (${why}); retry ${n}`) });
  const list = await listAttachments(client, ref);
  const evidence = list.attachments.find((a) => a.artifactType === ArtifactType.evidence)?.files.find((f) => f.title === 'report.json');
  if (!evidence) {
    throw new SlimError(`${name} has no slim evidence attached (report.json)`, { code: 'NOT_FOUND', hint: 'push it with slim build -o registry:REF, which attaches the report, trace and SBOM' });
  }
  const report = JSON.parse((await client.readBlob(ref.repository, evidence.digest, 32 << 20)).toString('utf8')) as { status?: string; input?: { ref?: string; id?: string }; verify?: { checks?: { name?: string; slim?: string }[] } };
  if (report.status !== 'ok') throw new SlimError(`${name}: its evidence says the build ended ${report.status ?? 'without a status'}; only images that passed their checks join a fleet`, { code: 'BASELINE_FAILED' });
  const spool = await ContentSpool.create(await deps.scope.tempDir('slim-fleet-member-'));
  deps.scope.defer(`spool of ${name}`, () => spool.close());
  const read = await readImage(await registrySource(`${ref.host}/${ref.repository}@${list.subject}`, `registry:${name}`, { insecure: deps.insecure, signal }), spool, { signal });
  return {
    ref: name,
    digest: list.subject,
    read,
    spool,
    entries: await entriesOf(read.index, spool),
    source: { ref: report.input?.ref ?? '', id: report.input?.id ?? '' },
    checks: (report.verify?.checks ?? []).map((c) => `${c.name ?? '?'}: ${c.slim ?? '?'}`),
  };
}

/** `slim fleet plan REF…`: read every image and its evidence, choose the shared layers, and pack each once to learn its digest. */
export async function planFromRegistry(refs: string[], share: SharePlanOptions, deps: Deps): Promise<FleetPlanFile> {
  if (refs.length < 2) throw new UsageError('slim fleet plan needs at least two images');
  const members = [];
  for (const r of refs) {
    deps.log.step(`fleet plan: reading ${r} and its evidence`);
    members.push(await readMember(r, deps));
  }
  const plan = planSharing(members.map((m) => ({ name: m.ref, entries: m.entries })), share);
  deps.log.info(plan.why);
  const tmp = await deps.scope.tempDir('slim-fleet-plan-');
  const shared = [];
  for (const [n, s] of plan.shared.entries()) {
    const from = members[s.images[0]!]!;
    const layer = await writeFleetLayer(from.read, from.spool, s.paths, join(tmp, `shared-${n}.tar.gz`), deps.scope.signal);
    shared.push({ ...s, digest: layer.digest, size: layer.size });
  }
  return {
    kind: 'slim-fleet-plan',
    version: 1,
    strategy: plan.strategy,
    why: plan.why,
    shared,
    images: members.map((m, i) => ({
      ref: m.ref,
      digest: m.digest,
      source: m.source,
      checks: m.checks,
      config: m.read.config,
      layers: plan.images[i]!.layers,
      own: plan.images[i]!.own,
      keys: Object.fromEntries(m.entries.map((e) => [e.path, e.key])),
    })),
  };
}

/** A plan file as read back: what a fan-out job relies on is checked, not assumed. */
export function parsePlanFile(text: string, file: string): FleetPlanFile {
  let p: FleetPlanFile;
  try {
    p = JSON.parse(text) as FleetPlanFile;
  } catch (err) {
    throw new UsageError(`${file} is not a fleet plan: ${(err as Error).message}`);
  }
  if (p?.kind !== 'slim-fleet-plan' || p.version !== 1 || !Array.isArray(p.images) || !Array.isArray(p.shared)) {
    throw new UsageError(`${file} is not a fleet plan of this slim (kind slim-fleet-plan, version 1)`);
  }
  for (const im of p.images) for (const n of im.layers) if (!p.shared[n]) throw new UsageError(`${file}: ${im.ref} names shared layer ${n}, which the plan does not have`);
  return p;
}
