import type { Readable } from 'node:stream';
import type { EngineCalls } from './engine-call.js';

/**
 * Split a non-TTY log stream: 8-byte frames (stream id, 3 zero bytes, big-endian length). `output`
 * is both streams in the order the frames came: what a user watching the container would have seen.
 */
export function demux(raw: Buffer): { stdout: Buffer; stderr: Buffer; output: Buffer } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const both: Buffer[] = [];
  let i = 0;
  while (i + 8 <= raw.length) {
    const kind = raw[i];
    const len = raw.readUInt32BE(i + 4);
    const body = raw.subarray(i + 8, i + 8 + len);
    (kind === 2 ? err : out).push(body);
    both.push(body);
    i += 8 + len;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), output: Buffer.concat(both) };
}

export interface JsonMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export async function readJsonMessages(stream: NodeJS.ReadableStream): Promise<JsonMessage[]> {
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString();
  const out: JsonMessage[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    try {
      out.push(JSON.parse(t) as JsonMessage);
    } catch {
      out.push({ stream: t });
    }
  }
  return out;
}

/**
 * A stream from the engine ends when the run (or the caller) aborts, with the abort's reason. The
 * listeners go with the stream: a run opens hundreds of streams on one signal.
 */
export function destroyOnAbort(s: Readable, signal: AbortSignal | undefined, calls: EngineCalls): void {
  const end = (reason: unknown) => void s.destroy(reason instanceof Error ? reason : undefined);
  if (signal?.aborted) return end(signal.reason);
  const onCaller = () => end(signal!.reason);
  signal?.addEventListener('abort', onCaller, { once: true });
  const detach = calls.onAbort(end);
  s.once('close', () => {
    signal?.removeEventListener('abort', onCaller);
    detach();
  });
}
