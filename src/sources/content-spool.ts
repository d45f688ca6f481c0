import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ContentLocator, FileEntry } from '../rootfs/entry.js';
import { InternalError } from '../errors.js';

/** Reads the bytes of a file entry. In-memory in unit tests, a spool file for real images. */
export interface ContentReader {
  read(entry: FileEntry & { kind: 'file' }, range?: { start: number; length: number }): Promise<Buffer>;
  stream(entry: FileEntry & { kind: 'file' }): Readable;
}

/** The sha256 of a file's bytes, as hex, streamed from the reader. */
export async function contentSha256(content: ContentReader, entry: FileEntry & { kind: 'file' }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of content.stream(entry)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Every regular file's bytes from every layer, appended to one file while the layers stream by,
 * so that the closure can read ELF headers and config files at random and the packer can copy
 * the survivors, without holding an image in memory or unpacking it to disk.
 */
export class ContentSpool implements ContentReader {
  private offset = 0;
  private constructor(readonly path: string, private readonly fh: FileHandle) {}

  static async create(dir: string): Promise<ContentSpool> {
    const path = join(dir, 'content.spool');
    return new ContentSpool(path, await open(path, 'w+'));
  }

  /** Append one file's bytes; returns where they are. */
  async append(layer: number, chunks: AsyncIterable<Buffer>): Promise<ContentLocator> {
    const start = this.offset;
    for await (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, written, chunk.length - written, this.offset);
        written += bytesWritten;
        this.offset += bytesWritten;
      }
    }
    return { layer, offset: start, size: this.offset - start };
  }

  async read(entry: FileEntry & { kind: 'file' }, range?: { start: number; length: number }): Promise<Buffer> {
    const start = range?.start ?? 0;
    const length = Math.max(0, Math.min(range?.length ?? entry.size, entry.size - start));
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.fh.read(buf, got, length - got, entry.at.offset + start + got);
      if (bytesRead === 0) throw new InternalError(`content spool is short for ${entry.path}`);
      got += bytesRead;
    }
    return buf;
  }

  stream(entry: FileEntry & { kind: 'file' }): Readable {
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.path, { start: entry.at.offset, end: entry.at.offset + entry.size - 1 });
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
