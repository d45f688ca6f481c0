import { silentLogger } from '../log.js';
import type { BuiltImage } from '../pack/image-builder.js';
import type { FileOutputRef, ImageSink } from './image-sink.js';
import { DockerArchiveSink } from './docker-archive-sink.js';
import { OciArchiveSink } from './oci-archive-sink.js';
import { OciLayoutSink } from './oci-layout-sink.js';

/** NAME is what a docker-archive is loaded back as. */
export function fileSink(o: FileOutputRef, name: string): ImageSink {
  if (o.kind === 'oci') return new OciLayoutSink(o);
  if (o.kind === 'oci-archive') return new OciArchiveSink(o);
  return new DockerArchiveSink(o, name);
}

/** One file output on its own, for callers with no sink list (the bench's layout). */
export async function writeOutput(o: FileOutputRef, img: BuiltImage, name: string, signal?: AbortSignal): Promise<void> {
  await fileSink(o, name).write(img, { signal: signal ?? new AbortController().signal, log: silentLogger });
}
