import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, lowest first. A module may import from its own folder and from folders of
 * lower layers only; folders of one layer do not import each other. The files at the top of src/
 * (errors, log, progress, version) are the bottom layer.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['.'],
  ['util', 'image', 'tar'],
  ['rootfs'],
  ['trace', 'runtime'],
  ['sources', 'verify', 'lint'],
  ['packages'],
  ['closure'],
  ['harden', 'sbom', 'pack', 'oci'],
  ['registry'],
  ['sinks', 'probe'],
  ['rebuild'],
  ['report'],
  ['inspect'],
  ['pipeline'],
  ['fleet'],
  ['cli'],
  ['bench'],
];

const SRC = resolve(__dirname, '../../src');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative module a source file imports, type-only imports and dynamic imports included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

function folderOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.split('/')[0]! : '.';
}

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  if (i < 0) throw new Error(`src/${folder} is in no layer: add it to LAYERS in test/unit/layers.test.ts`);
  return i;
}

/** Imports that go to a folder of the same or a higher layer. */
function wrongImports(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, deps]) =>
    deps
      .filter((dep) => folderOf(dep) !== folderOf(file) && layerOf(folderOf(dep)) >= layerOf(folderOf(file)))
      .map((dep) => `${relative(SRC, file)} imports ${relative(SRC, dep)}`),
  );
}

/** Each circle of imports, as the chain of modules that closes it. */
function circlesOf(graph: Map<string, string[]>): string[] {
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') circles.push(path.slice(path.indexOf(d)).concat(d).map((p) => relative(SRC, p)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return circles;
}

const files = modules(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the layers of src/', () => {
  it('every module imports only from its folder and lower layers', () => {
    expect(wrongImports(graph)).toEqual([]);
  });

  it('every import names a module that exists', () => {
    const missing = [...graph].flatMap(([file, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${relative(SRC, file)} -> ${relative(SRC, d)}`));
    expect(missing).toEqual([]);
  });

  it('no modules import each other in a circle', () => {
    expect(circlesOf(graph)).toEqual([]);
  });

  it('the checks see an upward import, a sideways one and a circle in a made-up graph', () => {
    const at = (p: string) => join(SRC, p);
    const made = new Map([
      [at('runtime/a.ts'), [at('pipeline/b.ts'), at('runtime/c.ts'), at('errors.ts')]],
      [at('pipeline/b.ts'), [at('runtime/a.ts')]],
      [at('runtime/c.ts'), [at('trace/d.ts')]],
      [at('trace/d.ts'), []],
      [at('errors.ts'), []],
    ]);
    expect(wrongImports(made)).toEqual(['runtime/a.ts imports pipeline/b.ts', 'runtime/c.ts imports trace/d.ts']);
    expect(circlesOf(made)).toEqual(['runtime/a.ts -> pipeline/b.ts -> runtime/a.ts']);
    expect(importsOf(join(SRC, 'probe/run-probe.ts')).map((d) => relative(SRC, d))).toContain('runtime/runtime.ts');
  });
});
