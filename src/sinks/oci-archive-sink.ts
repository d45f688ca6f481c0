import type { BuiltImage } from '../pack/image-builder.js';
import { imageArchiveStream, writeArchiveFile } from './image-archive-writer.js';
import { describeSource } from '../sources/source-ref.js';
import type { FileOutputRef, ImageSink, SinkContext, Written } from './image-sink.js';

/** An OCI layout as one tar file, the image under its ref name TAG (it is a docker-archive too, without a name). */
export class OciArchiveSink implements ImageSink {
  readonly kind = 'oci-archive';
  readonly label: string;

  constructor(private readonly ref: Extract<FileOutputRef, { kind: 'oci-archive' }>) {
    this.label = describeSource(ref);
  }

  entry(): string {
    return this.label;
  }

  async write(img: BuiltImage, { signal, log }: SinkContext): Promise<Written> {
    log.step(`writing ${this.label}`);
    await writeArchiveFile(this.ref.file, this.label, () => imageArchiveStream(img, { refName: this.ref.tag ?? 'latest' }), signal);
    return { entry: this.label };
  }
}
