import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SlimError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope } from '../runtime/scope.js';
import { ContentSpool } from '../sources/content-spool.js';
import { imageArchiveStream } from '../sinks/image-archive-writer.js';
import type { OutputRef } from '../sinks/output.js';
import { publish, type Published } from '../sinks/publish.js';
import { RegistryHosts, type RegistryOptions } from '../sinks/registry-sink.js';
import { parseRegistryRef } from '../registry/registry-ref.js';
import { sinksFor } from '../sinks/sinks-for.js';
import { checkSameFiles, layeredOf, writeFleetLayer } from './fleet-layers.js';
import { readMember, type FleetPlanFile } from './fleet-plan.js';

export interface PackDeps {
  runtime: Runtime;
  log: Logger;
  scope: Scope;
}

export interface FleetPackReport {
  ref: string;
  manifestDigest: string;
  layers: { digest: string; size: number; shared: boolean }[];
  published: Published;
}

/**
 * `slim fleet pack --plan FILE REF`: one fan-out job. The image is read again with its evidence;
 * its files must be the ones the plan was made from, key for key; each shared layer it gets must
 * come out with the digest the plan says (the same files give the same blob in every job); the
 * layered image is checked to hold exactly its files, then published.
 */
export async function fleetPack(plan: FleetPlanFile, text: string, outputs: OutputRef[], name: string, registry: RegistryOptions, deps: PackDeps): Promise<FleetPackReport> {
  const { log, scope, runtime } = deps;
  const wanted = text.replace(/^registry:/, '');
  const entry = plan.images.find((im) => im.ref === wanted || `${im.ref.replace(/[:@][^/]*$/, '')}@${im.digest}` === wanted);
  if (!entry) throw new UsageError(`${text} is not in the plan: it has ${plan.images.map((im) => im.ref).join(', ')}`);
  log.step(`fleet pack: reading ${entry.ref}`);
  const member = await readMember(`${entry.ref.replace(/[:@][^/]*$/, '')}@${entry.digest}`, { log, scope, insecure: registry.insecure });
  const got = new Map(member.entries.map((e) => [e.path, e.key]));
  const changed = [...new Set([...got.keys(), ...Object.keys(entry.keys)])].filter((p) => got.get(p) !== entry.keys[p]);
  if (changed.length) throw new SlimError(`${entry.ref} no longer holds the files the plan was made from (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''}): make the plan again`, { code: 'BAD_ARCHIVE' });
  const tmp = await scope.tempDir('slim-fleet-pack-');
  const layers = [];
  for (const n of entry.layers) {
    const s = plan.shared[n]!;
    const layer = await writeFleetLayer(member.read, member.spool, s.paths, join(tmp, `shared-${n}.tar.gz`), scope.signal);
    if (layer.digest !== s.digest) throw new SlimError(`shared layer ${n + 1} came out as ${layer.digest}, the plan says ${s.digest}: its files differ in this image`, { code: 'OUTPUT_FAILED' });
    layers.push(layer);
  }
  layers.push(await writeFleetLayer(member.read, member.spool, entry.own, join(tmp, 'own.tar.gz'), scope.signal));
  const img = layeredOf(member.read, layers, entry.layers.map((n) => plan.shared[n]!.images.map((i) => plan.images[i]!.ref)));
  const check = await ContentSpool.create(await scope.tempDir('slim-fleet-check-'));
  scope.defer('fleet check spool', () => check.close());
  await checkSameFiles(member.entries, layers, check, entry.ref);
  log.info(`${entry.ref}: ${layers.length} layers (${entry.layers.length} shared), the same ${member.entries.length} entries as its single-layer image`);
  let loaded: string | undefined;
  const keep = async (repository: string, tag: string) => {
    if (!loaded) {
      const archive = new PassThrough();
      imageArchiveStream(img).pipe(archive);
      loaded = await runtime.loadImage(archive, scope.signal);
    }
    await runtime.tagImage(loaded, repository, tag);
  };
  // Another job may have pushed a shared layer already, to its own repository: mounted from there.
  const hosts = new RegistryHosts({ ...registry, attach: false });
  for (const im of plan.images) {
    const r = parseRegistryRef(im.ref);
    hosts.seed(r.host, [r.repository]);
  }
  const published = await publish(sinksFor(outputs, { name, keep, registry: { ...registry, attach: false }, hosts }), img, { signal: scope.signal, log });
  return { ref: entry.ref, manifestDigest: img.manifestDigest, layers: layers.map((l, k) => ({ digest: l.digest, size: l.size, shared: k < entry.layers.length })), published };
}
