import type { BuiltImage } from '../pack/image-builder.js';
import { imageArchiveStream, writeArchiveFile } from './image-archive-writer.js';
import { describeSource } from '../sources/source-ref.js';
import type { FileOutputRef, ImageSink, SinkContext, Written } from './image-sink.js';

/** A tar file for `docker load`: the image comes back under NAME, the slim image's name in the engine. */
export class DockerArchiveSink implements ImageSink {
  readonly kind = 'docker-archive';
  readonly label: string;

  constructor(private readonly ref: Extract<FileOutputRef, { kind: 'docker-archive' }>, private readonly name: string) {
    this.label = describeSource(ref);
  }

  entry(): string {
    return this.label;
  }

  async write(img: BuiltImage, { signal, log }: SinkContext): Promise<Written> {
    log.step(`writing ${this.label}`);
    await writeArchiveFile(this.ref.file, this.label, () => imageArchiveStream(img, { repoTags: [this.name] }), signal);
    return { entry: this.label };
  }
}
