import type { AccessOp, AccessRecord } from './record.js';

/**
 * The one trace file format, JSON Lines, for both probes: one AccessRecord per line,
 *   {"pid":123,"op":"open","path":"/usr/lib/x86_64-linux-gnu/libc.so.6","ok":true,"via":"fanotify"}
 * Paths are byte strings: every character is U+0000–U+00FF and stands for one byte. Written lines
 * are pure ASCII (bytes >= 0x7f as \u00XX, as the fanotify sensor writes them), so the file reads
 * the same whatever it is decoded as; read files are decoded as latin1, so a raw byte is that byte.
 */

const OPS: ReadonlySet<string> = new Set<AccessOp>(['open', 'exec', 'stat', 'access', 'readlink', 'list', 'create', 'write', 'chdir', 'other']);

export interface TraceText {
  records: AccessRecord[];
  /** Non-blank lines that are not a well-formed record. */
  badLines: number;
}

/** One record as one line of JSON, without the newline. */
export function serialiseRecord(r: AccessRecord): string {
  const json = JSON.stringify({
    pid: r.pid,
    op: r.op,
    path: r.path,
    ...(r.resolved !== undefined ? { resolved: r.resolved } : {}),
    ok: r.ok,
    ...(r.err !== undefined ? { err: r.err } : {}),
    via: r.via,
  });
  // JSON.stringify already escapes U+0000–U+001F, `"` and `\`; the rest of the non-ASCII is
  // escaped here. Such characters only occur inside strings, where \uXXXX means the same.
  return json.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const isByteString = (s: unknown): s is string => typeof s === 'string' && !/[^\x00-\xff]/.test(s);

/**
 * One line back to a record, validated strictly: undefined (never an exception) for anything that
 * is not one (bad JSON, a missing or mistyped field, an unknown op or via, a character above U+00FF
 * in a path). Fields other than the record's are ignored.
 */
export function parseTraceLine(line: string): AccessRecord | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const { pid, op, path, resolved, ok, err, via } = o as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) return undefined;
  if (typeof op !== 'string' || !OPS.has(op)) return undefined;
  if (!isByteString(path)) return undefined;
  if (resolved !== undefined && !isByteString(resolved)) return undefined;
  if (typeof ok !== 'boolean') return undefined;
  if (err !== undefined && typeof err !== 'string') return undefined;
  if (via !== 'fanotify' && via !== 'strace') return undefined;
  return { pid, op: op as AccessOp, path, ...(resolved !== undefined ? { resolved } : {}), ok, ...(err !== undefined ? { err } : {}), via };
}

const isBlank = (line: string) => /^[ \t\r]*$/.test(line);

function collect(text: string): TraceText {
  const records: AccessRecord[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (isBlank(line)) continue;
    const r = parseTraceLine(line);
    if (r) records.push(r);
    else badLines++;
  }
  return { records, badLines };
}

/**
 * A whole trace file's text (decoded as latin1), blank lines ignored. Given a promise of the text
 * (a file being read), gives a promise of the result.
 */
export function parseTraceText(text: string): TraceText;
export function parseTraceText(text: Promise<string>): Promise<TraceText>;
export function parseTraceText(text: string | Promise<string>): TraceText | Promise<TraceText>;
export function parseTraceText(text: string | Promise<string>): TraceText | Promise<TraceText> {
  return typeof text === 'string' ? collect(text) : text.then(collect);
}

/**
 * The records of a trace file as it streams in. Buffers are decoded as latin1; string chunks are
 * taken as already so decoded. Bad lines are skipped and counted in `counts` when given; the
 * generator's return value has the same count.
 */
export async function* readTraceFile(
  stream: NodeJS.ReadableStream | AsyncIterable<Buffer | string>,
  counts: { badLines: number } = { badLines: 0 },
): AsyncGenerator<AccessRecord, { badLines: number }, undefined> {
  let carry = '';
  const one = (line: string): AccessRecord | undefined => {
    if (isBlank(line)) return undefined;
    const r = parseTraceLine(line);
    if (!r) counts.badLines++;
    return r;
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const text = carry + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const r = one(text.slice(start, nl));
      start = nl + 1;
      if (r) yield r;
    }
    carry = text.slice(start);
  }
  const r = one(carry);
  if (r) yield r;
  return counts;
}
