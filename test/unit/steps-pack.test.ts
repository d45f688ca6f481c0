import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { packAndLoad } from '../../src/pipeline/pack-step.js';
import type { BuildDeps, BuildOptions, OpenedImage } from '../../src/pipeline/build-types.js';
import { Selection } from '../../src/closure/selection.js';
import type { ClosureResult } from '../../src/closure/closure.js';
import { flatten } from '../../src/rootfs/flatten.js';
import type { FileEntry } from '../../src/rootfs/entry.js';
import { ContentSpool, type ContentReader } from '../../src/sources/content-spool.js';
import { openSource } from '../../src/sources/open-source.js';
import { readImage } from '../../src/sources/read-image.js';
import { sha256 } from '../../src/image/digest.js';
import type { ImageConfig } from '../../src/image/types.js';
import { runImageRef } from '../../src/runtime/run-images.js';
import { Scope } from '../../src/runtime/scope.js';
import { silentLogger } from '../../src/log.js';
import { dir, file, symlink } from '../helpers/tar-entries.js';
import { MemoryRuntime } from '../helpers/memory-runtime.js';

const bodies: Record<string, string> = {
  'app/run': '#!/bin/sh\nexec /app/server\n',
  'app/server': 'ELF-ish server bytes',
  'app/config.json': '{"port":8080}',
  'etc/passwd': 'root:x:0:0::/root:/bin/sh\n',
  'usr/share/doc/big.txt': 'x'.repeat(5000),
};
const size = (name: string) => Buffer.byteLength(bodies[name]!);

const source: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2024-01-01T00:00:00Z',
  config: { Entrypoint: ['/app/run'], Env: ['PATH=/bin'], Labels: { team: 'x' } },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
};

let scopes: Scope[] = [];
afterEach(async () => {
  for (const s of scopes.reverse()) expect(await s.dispose()).toEqual([]);
  scopes = [];
});

function newScope(): Scope {
  const s = new Scope();
  scopes.push(s);
  return s;
}

/** The original as the read step leaves it: an index of its entries, and their bytes in memory. */
async function opened(scope: Scope): Promise<OpenedImage> {
  const index = flatten([[
    dir('app/'), file('app/run', size('app/run'), 0o755), file('app/server', size('app/server'), 0o755), file('app/config.json', size('app/config.json')),
    symlink('app/current', 'run'), dir('etc/'), file('etc/passwd', size('etc/passwd')),
    dir('usr/'), dir('usr/share/'), dir('usr/share/doc/'), file('usr/share/doc/big.txt', size('usr/share/doc/big.txt')),
  ]]);
  const content: ContentReader = {
    read: async (e: FileEntry & { kind: 'file' }, range) => Buffer.from(bodies[e.path.slice(1)]!).subarray(range?.start ?? 0, (range?.start ?? 0) + (range?.length ?? e.size)),
    stream: (e: FileEntry & { kind: 'file' }) => Readable.from([Buffer.from(bodies[e.path.slice(1)]!)]),
  };
  const configRaw = Buffer.from(JSON.stringify(source));
  return {
    inspect: { id: sha256(configRaw), repoTags: ['app:1'], size: 6000, os: 'linux', architecture: 'amd64', config: source.config! },
    img: { config: source, configRaw, configDigest: sha256(configRaw), layerCount: 1, index },
    // The step reads the spool only through ContentReader, which is what an in-memory reader gives.
    spool: content as unknown as ContentSpool,
    tmp: await scope.tempDir('slim-steps-pack-'),
    readSeconds: 0,
  };
}

function closure(paths: string[]): ClosureResult {
  const selection = new Selection();
  for (const p of paths) selection.add(p, { why: 'traced' });
  return { selection, presets: {}, packages: [], excluded: 0, warnings: [] };
}

const KEPT = ['/app', '/app/run', '/app/server', '/app/current', '/etc', '/etc/passwd'];
// packAndLoad reads only the input's name and the epoch of the build options.
const opts = { image: 'app:1', epoch: 1_700_000_000 } as BuildOptions;

async function pack(mem: MemoryRuntime, scope: Scope, round = 0, kept = KEPT) {
  const deps: BuildDeps = { runtime: mem, log: silentLogger, scope };
  return packAndLoad(await opened(scope), closure(kept), opts, { backend: 'strace' }, round, deps);
}

/** What the engine holds under `ref`, read back through slim's own archive reader. */
async function engineImage(mem: MemoryRuntime, scope: Scope, ref: string) {
  const spool = await ContentSpool.create(await scope.tempDir('slim-steps-read-'));
  scope.defer('spool', () => spool.close());
  const img = await readImage(await openSource({ kind: 'engine', ref }, { runtime: mem, scope }), spool);
  const files = Object.fromEntries(await Promise.all(img.index.sorted().filter((e) => e.kind === 'file').map(async (e) => [e.path, (await spool.read(e as FileEntry & { kind: 'file' })).toString()] as const)));
  return { img, paths: img.index.sorted().map((e) => e.path).filter((p) => p !== '/'), files };
}

describe('packAndLoad', () => {
  it("loads the slim image under the run's tag, by an ID that is its config's digest, holding what the closure kept", async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const packed = await pack(mem, scope);
    expect(packed.slimId).toBe(packed.built.configDigest);
    expect(packed.slimId).toBe(sha256(packed.built.configRaw));
    const runTag = runImageRef(scope.id, 'slim-0');
    expect(runTag).toBe(`slim-run/${scope.id}:slim-0`);
    const held = await mem.inspectImage(runTag);
    expect(held?.id).toBe(packed.slimId);
    expect(held?.repoTags).toEqual([runTag]);
    expect(mem.calls.filter((c) => c.op === 'loadImage')).toHaveLength(1);

    const back = await engineImage(mem, scope, packed.slimId);
    expect(back.paths).toEqual([...KEPT].sort());
    expect(back.files['/app/run']).toBe(bodies['app/run']);
    expect(back.files['/etc/passwd']).toBe(bodies['etc/passwd']);
    expect(back.img.index.get('/app/run')?.meta.mode).toBe(0o755);
    expect(back.img.config.config?.Entrypoint).toEqual(['/app/run']);
    expect(back.img.config.config?.Labels).toMatchObject({ team: 'x', 'io.slim.source.name': 'app:1', 'io.slim.source.digest': sha256(Buffer.from(JSON.stringify(source))) });
    expect(back.img.config.created).toBe(new Date(1_700_000_000 * 1000).toISOString());
  });

  it('names each round by its own tag', async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const first = await pack(mem, scope, 0);
    const second = await pack(mem, scope, 1, [...KEPT, '/app/config.json']);
    expect(second.slimId).not.toBe(first.slimId);
    expect((await mem.inspectImage(runImageRef(scope.id, 'slim-1')))?.id).toBe(second.slimId);
    expect((await mem.inspectImage(runImageRef(scope.id, 'slim-0')))?.id).toBe(first.slimId);
  });

  it("keep() names it with the output name, and ending the run takes only the run's tag away", async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const packed = await pack(mem, scope);
    await packed.keep('app', 'slim');
    expect(await scope.dispose()).toEqual([]);
    const kept = await mem.inspectImage('app:slim');
    expect(kept?.id).toBe(packed.slimId);
    expect(kept?.repoTags).toEqual(['app:slim']);
    expect(await mem.inspectImage(runImageRef(scope.id, 'slim-0'))).toBeUndefined();
  });

  it('discard() removes the run tag at once, and the image with it when nothing else names it', async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const packed = await pack(mem, scope);
    await packed.discard();
    expect(await mem.inspectImage(packed.slimId)).toBeUndefined();
    expect([...mem.tags.keys()]).toEqual([]);
    expect(await scope.dispose()).toEqual([]);
    // The run's cleanup does not remove the tag a second time.
    expect(mem.calls.filter((c) => c.op === 'removeTag').map((c) => c.args)).toEqual([[runImageRef(scope.id, 'slim-0')]]);
  });

  it('discard() leaves the image to a name somebody else gave it', async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const packed = await pack(mem, scope);
    await mem.tagImage(packed.slimId, 'someone/else', 'v1');
    await packed.discard();
    expect((await mem.inspectImage(packed.slimId))?.repoTags).toEqual(['someone/else:v1']);
  });

  it('ending the run removes every image it did not keep, and nothing of anybody else', async () => {
    const mem = new MemoryRuntime();
    const scope = newScope();
    const original = mem.addImage(['app:1'], source.config);
    const a = await pack(mem, scope, 0);
    const b = await pack(mem, scope, 1, [...KEPT, '/app/config.json']);
    expect(await scope.dispose()).toEqual([]);
    expect(await mem.inspectImage(a.slimId)).toBeUndefined();
    expect(await mem.inspectImage(b.slimId)).toBeUndefined();
    expect([...mem.tags]).toEqual([['app:1', original]]);
  });

  it('an untagged copy of the image already in the engine is neither tagged nor removed', async () => {
    const mem = new MemoryRuntime();
    const first = newScope();
    const packed = await pack(mem, first);
    const saved = Buffer.concat(await (await mem.saveImage(packed.slimId, first.signal)).toArray());
    expect(await first.dispose()).toEqual([]);
    expect(await mem.inspectImage(packed.slimId)).toBeUndefined();
    expect(await mem.loadImage(Readable.from([saved]), new AbortController().signal)).toBe(packed.slimId);

    const second = newScope();
    const again = await pack(mem, second);
    expect(again.slimId).toBe(packed.slimId);
    expect((await mem.inspectImage(again.slimId))?.repoTags).toEqual([]);
    expect(await second.dispose()).toEqual([]);
    expect((await mem.inspectImage(again.slimId))?.repoTags).toEqual([]);
  });
});
