import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { RUN_LABEL } from '../../src/runtime/runtime.js';
import { InternalError, SlimError } from '../../src/errors.js';
import { readOutputTree } from '../../src/verify/output-tree.js';
import { mkLayer } from '../helpers/layers.js';
import { MemoryRuntime } from '../helpers/memory-runtime.js';

// The steps' tests are only as good as this double: it must keep the interface's word.
const signal = new AbortController().signal;

describe('MemoryRuntime keeps the Runtime interface', () => {
  it('removing a tag removes the image only with its last tag, and never under a container', async () => {
    const mem = new MemoryRuntime();
    const id = mem.addImage(['a:1', 'b:1']);
    await mem.removeTag('a:1');
    expect((await mem.inspectImage(id))?.repoTags).toEqual(['b:1']);
    const c = await mem.create({ image: id, labels: {} });
    await mem.removeTag('b:1');
    expect((await mem.inspectImage(id))?.repoTags).toEqual([]);
    await c.remove();
    // Left untagged, it is nobody's to remove.
    await mem.removeTag('b:1');
    expect((await mem.inspectImage(id))?.repoTags).toEqual([]);
    await expect(mem.removeTag(id)).rejects.toBeInstanceOf(InternalError);
    const other = mem.addImage(['c:1'], { Env: ['X=1'] });
    await mem.removeTag('c:1');
    expect(await mem.inspectImage(other)).toBeUndefined();
  });

  it('removing by ID refuses an image that several tags name, as the engine does without force', async () => {
    const mem = new MemoryRuntime();
    const id = mem.addImage(['a:1', 'b:1']);
    await expect(mem.removeImage(id)).rejects.toBeInstanceOf(SlimError);
    await mem.removeImage('a');
    expect((await mem.inspectImage(id))?.repoTags).toEqual(['a:1', 'b:1']);
    await mem.removeImage('a:1');
    await mem.removeImage(id);
    expect(await mem.inspectImage(id)).toBeUndefined();
  });

  it('a save loads back as the same image; a tag the archive names moves to it', async () => {
    const mem = new MemoryRuntime();
    const id = mem.addImage(['app:1']);
    const other = mem.addImage(['app:2'], { Env: ['X=1'] });
    const archive = Buffer.concat(await (await mem.saveImage('app:1', signal)).toArray());
    await mem.removeTag('app:1');
    expect(await mem.loadImage(Readable.from([archive]), signal)).toBe(id);
    expect((await mem.inspectImage('app:1'))?.id).toBe(id);
    await mem.tagImage(other, 'app', '1');
    expect((await mem.inspectImage(id))?.repoTags).toEqual([]);
    await expect(mem.loadImage(Readable.from([await mkLayer([{ path: 'x', body: 'y' }])]), signal)).rejects.toMatchObject({ code: 'LOAD_FAILED' });
  });

  it('a service runs until stopped; exec reaches it only while it runs; what is live is listed by label', async () => {
    const mem = new MemoryRuntime();
    const id = mem.addImage(['svc:1']);
    mem.script('svc:1', () => ({ service: true, exitCode: 143, stdout: 'up\n', exec: (cmd) => ({ exitCode: cmd[0] === 'true' ? 0 : 1 }) }));
    const c = await mem.run({ image: id, labels: { [RUN_LABEL]: 'r1' }, publish: ['8080'] });
    expect(await c.state()).toMatchObject({ running: true });
    expect((await c.exec(['true'])).exitCode).toBe(0);
    expect((await c.network()).ports['8080/tcp']?.[0]?.hostPort).toMatch(/^\d+$/);
    expect(await mem.listByLabel(`${RUN_LABEL}=r1`)).toEqual({ containers: [c.id], volumes: [] });
    expect(await mem.listByLabel(`${RUN_LABEL}=r2`)).toEqual({ containers: [], volumes: [] });
    const waited = c.wait();
    await c.stop(5);
    expect(await waited).toBe(143);
    await expect(c.exec(['true'])).rejects.toBeInstanceOf(SlimError);
    expect((await c.logs()).stdout.toString()).toBe('up\n');
    await c.remove();
    await c.remove();
    expect(await mem.listByLabel(RUN_LABEL)).toEqual({ containers: [], volumes: [] });
    await expect(c.wait()).rejects.toBeInstanceOf(SlimError);
  });

  it("copyOut archives a path as the engine's archive API names it; a missing one is an error", async () => {
    const mem = new MemoryRuntime();
    const id = mem.addImage(['job:1']);
    mem.script(id, () => ({ files: { '/out/a/b.txt': 'b', '/out/c': { type: 'symlink', linkname: 'a' } } }));
    const c = await mem.run({ image: id, labels: {} });
    expect(await c.wait()).toBe(0);
    const tree = await readOutputTree(await c.copyOut('/out'), '/out');
    expect([...tree.keys()].sort()).toEqual(['/out', '/out/a', '/out/a/b.txt', '/out/c']);
    expect(tree.get('/out/c')).toBe('symlink -> a');
    await expect(c.copyOut('/nothing')).rejects.toBeInstanceOf(SlimError);
    await c.remove();
  });
});
