import type { BuiltImage } from '../pack/image-builder.js';
import type { Pushed } from '../registry/push.js';
import type { ImageSink, SinkContext, Written } from './image-sink.js';

/** What the report lists of a publish. */
export interface Published {
  /** `output.written`. */
  written: string[];
  /** `output.pushed`: one entry per registry. */
  pushed: Pushed[];
  /** `timings.push`: seconds in the registry sinks, when there were any. */
  pushSeconds?: number;
}

/**
 * The preflight of every sink, in order, before any is written: run before the build, it is not
 * repeated by `publish`, which comes at the end of the build.
 */
export async function prepare(sinks: readonly ImageSink[], ctx: SinkContext): Promise<void> {
  for (const sink of sinks) await sink.prepare?.(ctx);
}

/** Write IMG to each sink in turn; the first that fails ends it, and the sinks after it are not written. */
export async function publish(sinks: readonly ImageSink[], img: BuiltImage, ctx: SinkContext): Promise<Published> {
  const done: { sink: ImageSink; written: Written }[] = [];
  let pushSeconds: number | undefined;
  for (const sink of sinks) {
    // Ctrl-C between two sinks: the ones after it are not written (a tag in the engine included).
    ctx.signal.throwIfAborted();
    const t = Date.now();
    const written = await sink.write(img, ctx);
    if (written.pushed) pushSeconds = (pushSeconds ?? 0) + (Date.now() - t) / 1000;
    done.push({ sink, written });
  }
  return {
    written: reportOrder(done, (d) => d.sink).map((d) => d.written.entry),
    pushed: done.flatMap((d) => (d.written.pushed ? [d.written.pushed] : [])),
    ...(pushSeconds !== undefined ? { pushSeconds } : {}),
  };
}

/**
 * What `publish` will list once every sink is written: the report attached to a pushed image is
 * made before the push.
 */
export function listing(sinks: readonly ImageSink[], img: BuiltImage): string[] {
  return reportOrder(sinks, (s) => s).map((s) => s.entry(img));
}

/** The engine's name leads the list, as it does `output.ref`, though it is written after the files. */
function reportOrder<T>(items: readonly T[], sinkOf: (t: T) => ImageSink): T[] {
  const engine = (t: T) => sinkOf(t).kind === 'docker';
  return [...items.filter(engine), ...items.filter((t) => !engine(t))];
}

/**
 * Whether the sinks want the layer gzip'd: what travels (registries, OCI layouts and archives)
 * does; the engine and a docker-archive take a plain tar, as `docker save` writes it.
 */
export function wantsGzip(sinks: readonly ImageSink[]): boolean {
  return sinks.some((s) => s.kind !== 'docker' && s.kind !== 'docker-archive');
}
