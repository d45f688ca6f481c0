import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { formatRegistryRef, parseRegistryRef, type RegistryRef } from '../registry/registry-ref.js';
import { describeSource, parseSourceRef } from '../sources/source-ref.js';
import type { FileOutputRef } from './image-sink.js';

export type { FileOutputRef } from './image-sink.js';
export { writeOutput } from './file-sinks.js';

/** Where the slim image goes besides the engine it is verified in. */
export type OutputRef = { kind: 'docker' } | FileOutputRef | { kind: 'registry'; ref: RegistryRef };

export function parseOutputRef(s: string): OutputRef {
  if (s === 'docker') return { kind: 'docker' };
  const registry = /^registry:(.+)$/.exec(s);
  if (registry) return { kind: 'registry', ref: parseRegistryRef(registry[1]!) };
  // What the source grammar takes for an engine image is no output: the engine is written `docker`.
  const file = parseSourceRef(s);
  if (file.kind === 'engine' || file.kind === 'registry') {
    throw new UsageError(`unknown --output "${s}"`, { hint: 'use docker, registry:HOST/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE' });
  }
  return file;
}

export function describeOutput(o: OutputRef): string {
  if (o.kind === 'docker') return 'docker';
  if (o.kind === 'registry') return `registry:${formatRegistryRef(o.ref)}`;
  return describeSource(o);
}

/** Kernel pseudo-filesystems: nothing can be written there, and a recursive mkdir there never ends. */
const PSEUDO_FS = ['/proc', '/sys'];

/**
 * Check, before the build starts, that each file or layout output can be written: not under /proc
 * or /sys, no directory where a file goes (or a file where a layout goes), and the nearest
 * existing directory above it writable. A usage error (exit 2) otherwise.
 */
export function checkOutputPaths(outputs: OutputRef[]): OutputRef[] {
  for (const o of outputs) {
    if (o.kind === 'docker' || o.kind === 'registry') continue;
    const why = o.kind === 'oci' ? unwritable(o.dir, 'directory') : unwritable(o.file, 'file');
    if (why) throw new UsageError(`--output ${describeOutput(o)}: ${why}`);
  }
  return outputs;
}

function unwritable(target: string, want: 'directory' | 'file'): string | undefined {
  const under = (p: string) => PSEUDO_FS.find((d) => p === d || p.startsWith(`${d}/`));
  if (under(target)) return `${under(target)} is a kernel filesystem, not a place for an image`;
  const st = statOf(target);
  if (st) {
    if (want === 'directory' && !st.isDirectory()) return `${target} exists and is not a directory`;
    if (want === 'file' && st.isDirectory()) return `${target} is a directory`;
  }
  // The nearest existing directory: the target itself (a layout added to), else its closest ancestor.
  let dir = want === 'directory' && st ? target : dirname(target);
  let dst = statOf(dir);
  while (!dst && dir !== dirname(dir)) {
    dir = dirname(dir);
    dst = statOf(dir);
  }
  if (!dst) return `no directory above ${target} exists`;
  if (!dst.isDirectory()) return `${dir} is not a directory`;
  const real = realOf(dir);
  if (under(real)) return `${dir} is on ${under(real)}, a kernel filesystem, not a place for an image`;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    return `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return undefined;
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function realOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
