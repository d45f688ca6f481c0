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

/** How many of stderr's last lines the summary always shows. */
const ERROR_LINES = 3;

/**
 * The last lines of the interleaved output, with stderr's last lines always among them: an
 * engine orders the two streams only as it happened to read them, and a job's error must not
 * fall out of the window behind stdout lines logged after it. Any of stderr's lines the window
 * lacks come first, and the window gives up as many of its oldest lines.
 */
export function lastLinesWithErrors(output: Buffer | string, stderr: Buffer | string, n = LAST_LINES): string[] {
  const tail = lastLines(output, n);
  const missing = lastLines(stderr, Math.min(ERROR_LINES, n)).filter((l) => !tail.includes(l));
  return [...missing, ...tail.slice(missing.length)];
}
