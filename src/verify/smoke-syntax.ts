import { spawnSync } from 'node:child_process';

/**
 * What the host's /bin/sh says of a smoke command's syntax (`sh -n`: parsed, nothing run), or
 * undefined when it parses. A command that cannot parse would fail every attempt until the
 * timeout, each time as if the app were not ready; this finds it before anything is read.
 */
export function smokeSyntaxError(cmd: string): string | undefined {
  const r = spawnSync('/bin/sh', ['-n', '-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  if (r.error) return undefined; // no /bin/sh to ask: the run itself will say so
  if (r.status === 0) return undefined;
  const said = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? `exit ${r.status}`;
  // dash says "/bin/sh: 1: Syntax error: …", bash "/bin/sh: -c: line 1: syntax error …": the message is what follows.
  return said.replace(/^(?:\/bin\/)?sh: (?:-c: )?(?:line )?\d+: /, '');
}
