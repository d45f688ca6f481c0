import type { BuiltImage } from '../pack/image-builder.js';
import { parseImageName } from '../image/reference.js';
import type { ImageSink, Written } from './image-sink.js';

/**
 * The engine: the slim image is there already (loaded to be verified, under a tag of the run's
 * own that goes when the run ends); writing it is giving it NAME, so that it stays.
 */
export class EngineSink implements ImageSink {
  readonly kind = 'docker';
  readonly label: string;

  constructor(private readonly name: string, private readonly keep: (repository: string, tag: string) => Promise<void>) {
    this.label = `docker:${name}`;
  }

  entry(): string {
    return this.label;
  }

  async write(_img: BuiltImage): Promise<Written> {
    const { repository, tag } = parseImageName(this.name);
    await this.keep(repository, tag ?? 'latest');
    return { entry: this.label };
  }
}
