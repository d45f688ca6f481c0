/** How many lines of a container's output the summary shows. */
export const LAST_LINES = 10;
/** A line longer than this is cut: one runaway line (a minified bundle, a dump) must not fill the summary. */
const MAX_LINE = 300;
const TAIL_BYTES = 64 * 1024;

/**
 * The last lines a container printed, as a person reads them: carriage-return progress collapsed to
 * what stayed on screen, terminal escapes and other control characters dropped, trailing blank
 * lines ignored, each line cut at MAX_LINE characters.
 */
export function lastLines(output: Buffer | string, n = LAST_LINES): string[] {
  // Only the end is read: a chatty service's whole log would be split into lines for ten of them.
  const tail = Buffer.isBuffer(output) ? output.subarray(-TAIL_BYTES).toString() : output.slice(-TAIL_BYTES);
  const lines = tail
    .split('\n')
    .map((l) => clean(l.replace(/\r$/, '').split('\r').pop()!));
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.slice(-n).map((l) => (l.length > MAX_LINE ? l.slice(0, MAX_LINE) + '…' : l));
}

function clean(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}
