/** How long a value in a message may be before its middle is left out. */
export const VALUE_MAX = 200;
/** How long one line of a message may be. */
export const LINE_MAX = 600;

/** A long value with its middle left out: its start and end stay, where names usually differ. */
export function elide(s: string, max = VALUE_MAX): string {
  if (s.length <= max) return s;
  const marker = `…(${s.length - max} more)…`;
  const keep = Math.max(2, max - marker.length);
  const head = Math.ceil(keep / 2);
  return `${s.slice(0, head)}${marker}${s.slice(s.length - (keep - head))}`;
}

/**
 * A message fit to print: every run of non-space characters longer than `value` (an image name,
 * a path, a reference the user gave) middle-elided, then each line kept to `line` characters.
 */
export function shortenMessage(msg: string, opts: { value?: number; line?: number } = {}): string {
  const value = opts.value ?? VALUE_MAX;
  const line = opts.line ?? LINE_MAX;
  return msg
    .split('\n')
    .map((l) => elide(l.replace(/\S+/g, (w) => elide(w, value)), line))
    .join('\n');
}
