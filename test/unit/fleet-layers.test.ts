import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSameFiles, entriesOf, writeFleetLayer } from '../../src/fleet/fleet-layers.js';
import { flatten } from '../../src/rootfs/flatten.js';
import { ContentSpool, type ContentReader } from '../../src/sources/content-spool.js';

const dir = mkdtempSync(join(tmpdir(), 'slim-fleet-layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meta = { mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 };
function image(bodies: Record<string, string>) {
  let offset = 0;
  const files = Object.entries(bodies).map(([name, body]) => {
    const at = { layer: 0, offset, size: body.length };
    offset += body.length;
    return { name: name.slice(1), type: 'file' as const, ...meta, mode: 0o644, size: body.length, at };
  });
  const index = flatten([[{ name: 'usr/', type: 'directory', ...meta, size: 0 }, { name: 'usr/lib/', type: 'directory', ...meta, size: 0 }, ...files, { name: 'usr/lib/libc.so', type: 'link', linkname: 'usr/lib/libc.so.6', ...meta, size: 0 }]]);
  // By where the bytes are, as the spool reads them: a hard link's name has its target's bytes.
  const all = Buffer.from(Object.values(bodies).join(''));
  const bytes = (e: { at: { offset: number }; size: number }) => all.subarray(e.at.offset, e.at.offset + e.size);
  const content: ContentReader = { read: async (e) => bytes(e), stream: (e) => Readable.from([bytes(e)]) };
  return { index, content };
}

describe('a layered image holds exactly its single-layer files', () => {
  it('passes when shared and own layers together are its files; names what is missing, extra or different', async () => {
    const { index, content } = image({ '/usr/lib/libc.so.6': 'libc', '/usr/bin/app': 'app' });
    const single = await entriesOf(index, content);
    const spool = await ContentSpool.create(mkdtempSync(join(dir, 's-')));
    const shared = await writeFleetLayer({ index }, content, ['/usr/lib/libc.so.6', '/usr/lib/libc.so'], join(dir, 'shared.tar.gz'), new AbortController().signal);
    const own = await writeFleetLayer({ index }, content, ['/usr', '/usr/lib', '/usr/bin/app'], join(dir, 'own.tar.gz'), new AbortController().signal);
    await checkSameFiles(single, [shared, own], spool, 'app');
    // A hard link is one key over both its names: written in one layer, it stays a link.
    expect(single.find((e) => e.path === '/usr/lib/libc.so')!.key).toContain('"/usr/lib/libc.so","/usr/lib/libc.so.6"');
    await expect(checkSameFiles(single, [own], spool, 'app')).rejects.toThrow(/app: its layers do not hold exactly its single-layer files: \/usr\/lib\/libc\.so \(missing\), \/usr\/lib\/libc\.so\.6 \(missing\)/);
    const other = image({ '/usr/lib/libc.so.6': 'LIBC', '/usr/bin/app': 'app' });
    const changed = await writeFleetLayer({ index: other.index }, other.content, ['/usr/lib/libc.so.6', '/usr/lib/libc.so'], join(dir, 'changed.tar.gz'), new AbortController().signal);
    await expect(checkSameFiles(single, [changed, own], spool, 'app')).rejects.toThrow(/\/usr\/lib\/libc\.so \(different\), \/usr\/lib\/libc\.so\.6 \(different\)/);
    await expect(checkSameFiles(single.filter((e) => e.path !== '/usr/bin/app'), [shared, own], spool, 'app')).rejects.toThrow(/\/usr\/bin\/app \(extra\)/);
    await spool.close();
  });

  it('the same files give the same shared layer, byte for byte, whichever image they are packed from', async () => {
    const a = image({ '/usr/lib/libc.so.6': 'libc', '/usr/bin/app': 'a' });
    const b = image({ '/usr/lib/libc.so.6': 'libc', '/usr/bin/app': 'something else' });
    const paths = ['/usr/lib/libc.so.6', '/usr/lib/libc.so'];
    const [la, lb] = [await writeFleetLayer({ index: a.index }, a.content, paths, join(dir, 'a.tar.gz'), new AbortController().signal), await writeFleetLayer({ index: b.index }, b.content, paths, join(dir, 'b.tar.gz'), new AbortController().signal)];
    expect(la.digest).toBe(lb.digest);
    expect(la.diffId).toBe(lb.diffId);
  });
});
