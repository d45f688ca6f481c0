import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InternalError, SlimError } from '../../src/errors.js';
import { diffFromEngine, inspectFromEngine } from '../../src/inspect/run.js';
import { silentLogger } from '../../src/log.js';
import { Scope } from '../../src/runtime/scope.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { ContentSpool } from '../../src/sources/content-spool.js';
import { dockerArchiveSource } from '../../src/sources/archive-source.js';
import { openSource } from '../../src/sources/open-source.js';
import { readImage } from '../../src/sources/read-image.js';
import { parseSourceRef } from '../../src/sources/source-ref.js';
import { mkLayer, tarOf } from '../helpers/layers.js';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const work = await mkdtemp(join(tmpdir(), 'slim-archive-errors-'));
afterAll(() => rm(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(work, `${n++}-${name}`);

/** The parts of a small image: one gzipped layer, its config, an OCI manifest and index naming them. */
async function parts() {
  const layer = await mkLayer([{ path: 'bin/' }, { path: 'bin/app', body: 'app' }, { path: 'etc/' }, { path: 'etc/conf', body: 'x=1\n' }], { gzip: true });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/app'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${hex(gunzipSync(layer))}`] }, history: [{ created_by: 'COPY app /bin/app' }] }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: `sha256:${hex(config)}`, size: config.length }, layers: [{ digest: `sha256:${hex(layer)}`, size: layer.length }] }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${hex(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  return { layer, config, manifest, index };
}
type Parts = Awaited<ReturnType<typeof parts>>;

/** A docker-archive file; `edit` changes the entries (name → body; undefined drops one). */
async function dockerArchive(edit: (files: Map<string, Buffer>, p: Parts) => void = () => {}): Promise<{ file: string; p: Parts }> {
  const p = await parts();
  const files = new Map<string, Buffer>([
    ['l1/layer.tar', p.layer],
    [`${hex(p.config)}.json`, p.config],
    ['manifest.json', Buffer.from(JSON.stringify([{ Config: `${hex(p.config)}.json`, RepoTags: ['x:1'], Layers: ['l1/layer.tar'] }]))],
  ]);
  edit(files, p);
  const file = fresh('image.tar');
  await writeFile(file, await tarOf([...files].map(([name, body]) => ({ name, body }))));
  return { file, p };
}

/** An OCI layout's files (name → body); `edit` changes them. */
async function layoutFiles(edit: (files: Map<string, Buffer>, p: Parts) => void = () => {}): Promise<{ files: Map<string, Buffer>; p: Parts }> {
  const p = await parts();
  const files = new Map<string, Buffer>([['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')], ['index.json', p.index]]);
  for (const b of [p.layer, p.config, p.manifest]) files.set(`blobs/sha256/${hex(b)}`, b);
  edit(files, p);
  return { files, p };
}

async function ociDir(edit?: (files: Map<string, Buffer>, p: Parts) => void): Promise<{ dir: string; p: Parts }> {
  const { files, p } = await layoutFiles(edit);
  const dir = fresh('layout');
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [name, body] of files) await writeFile(join(dir, name), body);
  return { dir, p };
}

async function ociArchive(edit?: (files: Map<string, Buffer>, p: Parts) => void): Promise<{ file: string; p: Parts }> {
  const { files, p } = await layoutFiles(edit);
  const file = fresh('image.oci.tar');
  await writeFile(file, await tarOf([...files].map(([name, body]) => ({ name, body }))));
  return { file, p };
}

const noEngine = new Proxy({} as Runtime, {
  get: (_t, prop) => (prop === 'then' ? undefined : () => Promise.reject(new Error(`the engine was asked: ${String(prop)}`))),
});

/** Read a file input as slim inspect does, in a scope of its own. */
async function read(ref: string) {
  const scope = new Scope();
  try {
    const spool = await ContentSpool.create(await scope.tempDir());
    scope.defer('spool', () => spool.close());
    return await readImage(await openSource(parseSourceRef(ref), { runtime: noEngine, scope }), spool, { keepLayers: true });
  } finally {
    await scope.dispose();
  }
}

/** The error reading `ref` fails with: a one-line SlimError (BAD_ARCHIVE), not an internal error. */
async function failure(ref: string, run: () => Promise<unknown> = () => read(ref)): Promise<string> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${ref} was read`).toBeInstanceOf(SlimError);
  expect(err).not.toBeInstanceOf(InternalError);
  const e = err as SlimError;
  expect(e.code).toBe('BAD_ARCHIVE');
  expect(e.message.split('\n')).toHaveLength(1);
  return e.message;
}

const notJson = Buffer.from('{"manifests": [nope');

describe('docker-archive inputs with broken metadata', () => {
  it('manifest.json that is not JSON', async () => {
    const { file } = await dockerArchive((f) => f.set('manifest.json', notJson));
    expect(await failure(`docker-archive:${file}`)).toMatch(new RegExp(`^docker-archive:${file}: manifest\\.json is not JSON \\(.+\\)$`));
  });

  it('a config named in manifest.json that is missing', async () => {
    const { file, p } = await dockerArchive((f, p) => f.delete(`${hex(p.config)}.json`));
    expect(await failure(`docker-archive:${file}`)).toBe(`docker-archive:${file}: config ${hex(p.config)}.json named in manifest.json is missing`);
  });

  it('a config that is not JSON', async () => {
    const { file } = await dockerArchive((f, p) => {
      f.delete(`${hex(p.config)}.json`);
      f.set(`${hex(notJson)}.json`, notJson);
      f.set('manifest.json', Buffer.from(JSON.stringify([{ Config: `${hex(notJson)}.json`, Layers: ['l1/layer.tar'] }])));
    });
    expect(await failure(`docker-archive:${file}`)).toMatch(new RegExp(`^docker-archive:${file}: config ${hex(notJson)}\\.json is not JSON \\(.+\\)$`));
  });

  it('a layer blob named in manifest.json that is missing', async () => {
    const { file } = await dockerArchive((f) => f.delete('l1/layer.tar'));
    expect(await failure(`docker-archive:${file}`)).toBe(`docker-archive:${file}: layer l1/layer.tar named in manifest.json is missing`);
  });
});

for (const kind of ['oci', 'oci-archive'] as const) {
  const make = kind === 'oci' ? async (edit?: (files: Map<string, Buffer>, p: Parts) => void) => {
    const { dir, p } = await ociDir(edit);
    return { ref: `oci:${dir}`, label: `oci:${dir}`, p };
  } : async (edit?: (files: Map<string, Buffer>, p: Parts) => void) => {
    const { file, p } = await ociArchive(edit);
    return { ref: `oci-archive:${file}`, label: `oci-archive:${file}`, p };
  };

  describe(`${kind} inputs with broken metadata`, () => {
    it('index.json that is not JSON', async () => {
      const { ref, label } = await make((f) => f.set('index.json', notJson));
      expect(await failure(ref)).toMatch(new RegExp(`^${label}: index\\.json is not JSON \\(.+\\)$`));
    });

    it('a manifest blob named in index.json that is missing', async () => {
      const { ref, label, p } = await make((f, p) => f.delete(`blobs/sha256/${hex(p.manifest)}`));
      expect(await failure(ref)).toBe(`${label}: blob sha256:${hex(p.manifest)} named in index.json is missing`);
    });

    it('a manifest that is not JSON', async () => {
      const { ref, label } = await make((f) => {
        f.set(`blobs/sha256/${hex(notJson)}`, notJson);
        f.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${hex(notJson)}`, size: notJson.length }] })));
      });
      expect(await failure(ref)).toMatch(new RegExp(`^${label}: manifest sha256:${hex(notJson)} is not JSON \\(.+\\)$`));
    });

    it('a config blob that is missing', async () => {
      const { ref, label, p } = await make((f, p) => f.delete(`blobs/sha256/${hex(p.config)}`));
      expect(await failure(ref)).toBe(`${label}: blob sha256:${hex(p.config)} named in manifest sha256:${hex(p.manifest)} is missing`);
    });

    it('a layer blob that is missing', async () => {
      const { ref, label, p } = await make((f, p) => f.delete(`blobs/sha256/${hex(p.layer)}`));
      expect(await failure(ref)).toBe(`${label}: blob sha256:${hex(p.layer)} named in manifest sha256:${hex(p.manifest)} is missing`);
    });
  });
}

describe('an OCI layout in a tar read by the archive reader itself', () => {
  const readTar = async (files: Map<string, Buffer>, tag?: string) => {
    const spool = await ContentSpool.create(await mkdtemp(join(work, 'spool-')));
    try {
      const file = fresh('layout.tar');
      await writeFile(file, await tarOf([...files].map(([name, body]) => ({ name, body }))));
      return await readImage(await dockerArchiveSource(file, 'oci-archive:t.tar', { untrusted: false, layout: tag ? { tag } : {} }), spool);
    } finally {
      await spool.close();
    }
  };

  it('index.json that is not JSON, a missing manifest, a missing config: one line each', async () => {
    const broken = [
      [(f: Map<string, Buffer>) => f.set('index.json', notJson), /^oci-archive:t\.tar: index\.json is not JSON \(.+\)$/],
      [(f: Map<string, Buffer>, p: Parts) => f.delete(`blobs/sha256/${hex(p.manifest)}`), (p: Parts) => `oci-archive:t.tar: blob sha256:${hex(p.manifest)} named in index.json is missing`],
      [(f: Map<string, Buffer>, p: Parts) => f.delete(`blobs/sha256/${hex(p.config)}`), (p: Parts) => `oci-archive:t.tar: config blobs/sha256/${hex(p.config)} named in manifest sha256:${hex(p.manifest)} is missing`],
      [(f: Map<string, Buffer>, p: Parts) => f.delete(`blobs/sha256/${hex(p.layer)}`), (p: Parts) => `oci-archive:t.tar: layer blobs/sha256/${hex(p.layer)} named in manifest sha256:${hex(p.manifest)} is missing`],
    ] as const;
    for (const [edit, want] of broken) {
      const { files, p } = await layoutFiles(edit);
      const msg = await failure('oci-archive:t.tar', () => readTar(files));
      if (want instanceof RegExp) expect(msg).toMatch(want);
      else expect(msg).toBe(want(p));
    }
  });

  it('picks the manifest by its :TAG', async () => {
    const { files, p } = await layoutFiles();
    expect((await readTar(files, 'v1')).configDigest).toBe(`sha256:${hex(p.config)}`);
    expect(await failure('oci-archive:t.tar', () => readTar(files, 'v2'))).toBe('oci-archive:t.tar has no image tagged v2');
  });
});

describe('slim inspect and slim diff of file inputs need no engine', () => {
  const deps = (scope: Scope) => ({ runtime: noEngine, log: silentLogger, scope });

  it('a docker-archive, an OCI layout and an oci-archive give one report, and diff between any two finds nothing', async () => {
    const { file: da, p } = await dockerArchive();
    const { dir } = await ociDir();
    const { file: oa } = await ociArchive();
    const refs = [`docker-archive:${da}`, `oci:${dir}`, `oci-archive:${oa}:v1`];
    const scope = new Scope();
    try {
      const reports = [];
      for (const ref of refs) reports.push(await inspectFromEngine(ref, deps(scope)));
      for (const [i, r] of reports.entries()) {
        expect(r.image).toMatchObject({ ref: refs[i], id: `sha256:${hex(p.config)}` });
        expect({ ...r, image: undefined }).toEqual({ ...reports[0], image: undefined });
      }
      expect(reports[0]!.layers).toHaveLength(1);
      for (const [a, b] of [[0, 1], [1, 2], [2, 0]] as const) {
        const d = await diffFromEngine(refs[a]!, refs[b]!, deps(scope), { by: 'both', depth: 3 });
        expect({ removed: d.removed.entries, added: d.added.entries, changed: d.changed.entries }, `${refs[a]} → ${refs[b]}`).toEqual({ removed: 0, added: 0, changed: 0 });
        expect(d.unchanged.files).toBe(2);
        expect(d.a.id).toBe(d.b.id);
      }
    } finally {
      await scope.dispose();
    }
  });

  it('a file that is not there is a one-line error naming it, before the engine is asked', async () => {
    const scope = new Scope();
    try {
      const missing = join(work, 'no-such.tar');
      await expect(inspectFromEngine(`docker-archive:${missing}`, deps(scope))).rejects.toMatchObject({ name: 'SlimError', code: 'SOURCE_NOT_FOUND', message: `${missing} does not exist` });
      // diff looks both up before reading either
      const { dir } = await ociDir();
      await expect(diffFromEngine(`oci:${dir}`, `oci-archive:${missing}`, deps(scope), { by: 'both', depth: 3 })).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
    } finally {
      await scope.dispose();
    }
  });
});

describe('an OCI layout given as --output', () => {
  it('whose index.json is not JSON: one line naming it, and the layout is left as it was', async () => {
    const { writeOutput } = await import('../../src/sinks/output.js');
    const dir = fresh('out-layout');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), notJson);
    const msg = await failure(`oci:${dir}`, () => writeOutput({ kind: 'oci', dir, tag: 'v1' }, {} as never, 'x'));
    expect(msg).toMatch(new RegExp(`^oci:${dir}: index\\.json is not JSON \\(.+\\)$`));
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'index.json'))).toEqual(notJson);
  });
});
