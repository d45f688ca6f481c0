import { parseImageName } from '../image/reference.js';
import type { OutputRef } from './output.js';
import type { ImageSink } from './image-sink.js';
import { fileSink } from './file-sinks.js';
import { EngineSink } from './engine-sink.js';
import { registrySinks, type RegistryHosts, type RegistryOptions } from './registry-sink.js';

export interface SinkOptions {
  /** The slim image's name: its tag in the engine, in a docker-archive, and the default registry tag. */
  name: string;
  /** Tags the slim image the engine holds already (loaded there to be verified). */
  keep: (repository: string, tag: string) => Promise<void>;
  registry: RegistryOptions;
  /** Registry clients and the repositories pushed to, shared with other images' sinks (a fleet's): their blobs are mounted, not uploaded again. */
  hosts?: RegistryHosts;
}

/**
 * The sinks of these outputs in the order they are written: the files as given, then the engine's
 * tag (so that a file that cannot be written leaves no tag behind), then the registries, last as
 * the slowest and the only ones others see.
 */
export function sinksFor(outputs: readonly OutputRef[], opts: SinkOptions): ImageSink[] {
  const files = outputs.flatMap((o) => (o.kind === 'docker' || o.kind === 'registry' ? [] : [fileSink(o, opts.name)]));
  // One tag in the engine, however often `docker` was given.
  const engine = outputs.some((o) => o.kind === 'docker') ? [new EngineSink(opts.name, opts.keep)] : [];
  const refs = outputs.flatMap((o) => (o.kind === 'registry' ? [o.ref] : []));
  return [...files, ...engine, ...registrySinks(refs, parseImageName(opts.name).tag ?? 'latest', opts.registry, opts.hosts)];
}
