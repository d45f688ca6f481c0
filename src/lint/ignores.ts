import type { ParsedDockerfile } from './dockerfile.js';

/**
 * Ignore pragmas in comments, slim's and hadolint's alike:
 *   # slim ignore=SL003,SL015           the next instruction
 *   # hadolint ignore=DL3009            the next instruction, by the hadolint id a finding matches
 *   # slim global ignore=SL008          the whole file, build-context findings included
 * Text after a second `#` is a remark. A pragma covers the instruction right below it and its
 * continuation lines; several pragma lines in a row all apply.
 */
export interface Pragmas {
  global: ReadonlySet<string>;
  local: readonly { from: number; to: number; ids: ReadonlySet<string> }[];
}

const PRAGMA = /^\s*#\s*(?:slim|hadolint)\s+(global\s+)?ignore\s*=\s*([^#]*)/i;

export function readPragmas(text: string, df: ParsedDockerfile): Pragmas {
  const lines = text.split(/\r?\n/);
  const ranges = [
    ...df.globalArgs.map((i) => ({ from: i.line, to: i.endLine })),
    ...df.stages.flatMap((s) => [{ from: s.line, to: s.endLine }, ...s.instructions.map((i) => ({ from: i.line, to: i.endLine }))]),
  ].sort((a, b) => a.from - b.from);
  const inside = (line: number) => ranges.some((r) => line >= r.from && line <= r.to);
  const global = new Set<string>();
  // A comment inside an instruction (a continuation, a heredoc body) is the instruction's text, not a pragma.
  lines.forEach((l, i) => {
    const m = PRAGMA.exec(l);
    if (m?.[1] && !inside(i + 1)) for (const id of ids(m[2]!)) global.add(id);
  });
  const local = ranges.flatMap((r) => {
    const found = new Set<string>();
    for (let line = r.from - 1; line >= 1 && /^\s*#/.test(lines[line - 1] ?? '') && !inside(line); line--) {
      const m = PRAGMA.exec(lines[line - 1]!);
      if (m && !m[1]) for (const id of ids(m[2]!)) found.add(id);
    }
    return found.size > 0 ? [{ ...r, ids: found }] : [];
  });
  return { global, local };
}

export function ignoredByPragma(f: { rule: string; hadolint: string | null; line: number }, p: Pragmas): boolean {
  const named = (set: ReadonlySet<string>) => set.has(f.rule) || (f.hadolint !== null && set.has(f.hadolint));
  return named(p.global) || p.local.some((l) => f.line >= l.from && f.line <= l.to && named(l.ids));
}

function ids(list: string): string[] {
  return list
    .split(/[,\s]+/)
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== '');
}
