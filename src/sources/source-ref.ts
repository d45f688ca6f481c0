import { resolve } from 'node:path';

/** Where the input image lives. Anything without a transport prefix is an image in the engine. */
export type SourceRef =
  | { kind: 'engine'; ref: string }
  | { kind: 'docker-archive'; file: string }
  | { kind: 'oci'; dir: string; tag?: string }
  | { kind: 'oci-archive'; file: string; tag?: string }
  /** HOST/REPO[:TAG|@DIGEST] as written: its grammar is the registry client's, a layer above. */
  | { kind: 'registry'; ref: string };

/** An input that lives in a file or OCI layout, read without the engine. */
export type FileSource = Exclude<SourceRef, { kind: 'engine' } | { kind: 'registry' }>;

export function parseSourceRef(s: string): SourceRef {
  const m = /^(docker-archive|oci|oci-archive|registry):(.+)$/.exec(s);
  if (!m) return { kind: 'engine', ref: s.replace(/^docker:(\/\/)?/, '') };
  const [, kind, rest] = m as unknown as [string, 'docker-archive' | 'oci' | 'oci-archive' | 'registry', string];
  if (kind === 'registry') return { kind, ref: rest };
  if (kind === 'docker-archive') return { kind, file: resolve(rest) };
  const t = /^(.+?)(?::([\w][\w.-]{0,127}))?$/.exec(rest)!;
  const where = resolve(t[1]!);
  return kind === 'oci' ? { kind, dir: where, ...(t[2] ? { tag: t[2] } : {}) } : { kind, file: where, ...(t[2] ? { tag: t[2] } : {}) };
}

/** An input read without the engine, as the user writes it (the inverse of parseSourceRef, with paths made absolute). */
export function describeSource(src: Exclude<SourceRef, { kind: 'engine' }>): string {
  if (src.kind === 'registry') return `registry:${src.ref}`;
  return src.kind === 'docker-archive' ? `docker-archive:${src.file}` : src.kind === 'oci' ? `oci:${src.dir}${src.tag ? `:${src.tag}` : ''}` : `oci-archive:${src.file}${src.tag ? `:${src.tag}` : ''}`;
}
