import type { AccessOp, AccessRecord } from './record.js';

const OPS = new Set<AccessOp>(['open', 'exec', 'stat', 'access', 'readlink', 'list', 'create', 'write', 'chdir', 'other']);

/** One record as one JSON line. Paths are byte strings, so every character is U+0000–U+00FF. */
export function serialiseRecord(r: AccessRecord): string {
  return JSON.stringify({
    pid: r.pid,
    op: r.op,
    path: r.path,
    ...(r.resolved !== undefined ? { resolved: r.resolved } : {}),
    ok: r.ok,
    ...(r.err ? { err: r.err } : {}),
    via: r.via,
  });
}

const isByteString = (s: unknown): s is string => typeof s === 'string' && !/[^\x00-\xff]/.test(s);

/** Strict: anything that is not a well-formed record gives undefined, never an exception. */
export function parseTraceLine(line: string): AccessRecord | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const { pid, op, path, resolved, ok, err, via } = o;
  if (typeof pid !== 'number' || !Number.isInteger(pid)) return undefined;
  if (typeof op !== 'string' || !OPS.has(op as AccessOp)) return undefined;
  if (!isByteString(path)) return undefined;
  if (resolved !== undefined && !isByteString(resolved)) return undefined;
  if (typeof ok !== 'boolean') return undefined;
  if (err !== undefined && typeof err !== 'string') return undefined;
  if (via !== 'fanotify' && via !== 'strace') return undefined;
  return { pid, op: op as AccessOp, path, ...(resolved !== undefined ? { resolved } : {}), ok, ...(err !== undefined ? { err } : {}), via };
}

export function parseTraceText(text: string | Promise<string>): Promise<{ records: AccessRecord[]; badLines: number }> {
  return Promise.resolve(text).then((t) => {
    const records: AccessRecord[] = [];
    let badLines = 0;
    for (const line of t.split('\n')) {
      if (line.trim() === '') continue;
      const r = parseTraceLine(line);
      if (r) records.push(r);
      else badLines++;
    }
    return { records, badLines };
  });
}
