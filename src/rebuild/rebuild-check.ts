/** One check of a rebuilt file: its name, whether it passed, and what it saw, for the report. */
export interface RebuildCheck {
  name: string;
  passed: boolean;
  detail: string;
}

/** The first line that differs, as `"A" became "B"`; undefined when the same. */
export function firstDifference(a: string, b: string): string | undefined {
  const as = a.trimEnd().split('\n');
  const bs = b.trimEnd().split('\n');
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return `${JSON.stringify(as[i] ?? '(nothing)')} became ${JSON.stringify(bs[i] ?? '(nothing)')}`;
  }
  return undefined;
}
