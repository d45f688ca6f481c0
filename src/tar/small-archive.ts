import { Readable } from 'node:stream';
import tar from 'tar-stream';

export interface SmallEntry {
  name: string;
  mode: number;
  /** A directory when absent. */
  body?: Buffer;
}

/** A tar of a few small entries, owned by root, as a stream for the engine's archive API. */
export async function smallArchive(entries: readonly SmallEntry[]): Promise<Readable> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    if (e.body) pack.entry({ name: e.name, type: 'file', mode: e.mode, uid: 0, gid: 0, mtime: new Date(0) }, e.body);
    else pack.entry({ name: e.name.endsWith('/') ? e.name : `${e.name}/`, type: 'directory', mode: e.mode, uid: 0, gid: 0, mtime: new Date(0) });
  }
  pack.finalize();
  await done;
  return Readable.from([Buffer.concat(chunks)]);
}
