/** `#!interpreter [one argument]` as the kernel reads it: first line only, one optional argument. */
export function parseShebang(head: Buffer): { interpreter: string; arg?: string } | undefined {
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const end = head.indexOf(0x0a);
  const line = head.subarray(2, end === -1 ? head.length : end).toString('latin1').trim();
  const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
  if (!m?.[1]?.startsWith('/')) return undefined;
  return { interpreter: m[1], ...(m[2] ? { arg: m[2].trim() } : {}) };
}
