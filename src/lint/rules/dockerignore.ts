import picomatch from 'picomatch';
import type { Rule } from './rule.js';

export const noDockerignore: Rule = {
  id: 'SL010',
  name: 'no-dockerignore',
  severity: 'warning',
  description: 'no .dockerignore: the whole directory (.git, node_modules, .env…) is sent to the builder and COPY . . takes it in',
  fix: 'add a .dockerignore next to the Dockerfile with at least .git, node_modules and .env',
  check: (_df, ctx) =>
    ctx.dockerignore === null ? [{ line: 0, stage: null, message: `no .dockerignore in the build context${ctx.dir !== undefined ? ` ${ctx.dir}` : ''}` }] : [],
};

const MUST_IGNORE: { name: string; probe: string }[] = [
  { name: '.git', probe: '.git/HEAD' },
  { name: 'node_modules', probe: 'node_modules/x/index.js' },
  { name: '.env', probe: '.env' },
];

/** The builder's reading: the last matching pattern wins, `!` re-includes, a pattern also covers what is under a match. */
export function dockerignoreExcludes(text: string, path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).trim().replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    if (pattern === '') continue;
    const match = picomatch(pattern, { dot: true });
    if (candidates.some((c) => match(c))) excluded = !negate;
  }
  return excluded;
}

export const dockerignoreIncomplete: Rule = {
  id: 'SL011',
  name: 'dockerignore-incomplete',
  severity: 'warning',
  description: '.dockerignore does not exclude .git, node_modules or .env',
  fix: 'add the missing entries to .dockerignore',
  check: (_df, ctx) => {
    if (typeof ctx.dockerignore !== 'string') return [];
    const text = ctx.dockerignore;
    const missing = MUST_IGNORE.filter((m) => !dockerignoreExcludes(text, m.probe)).map((m) => m.name);
    return missing.length === 0
      ? []
      : [{ line: 0, stage: null, message: `.dockerignore does not exclude ${missing.join(', ')}`, fix: `add ${missing.join(', ')} to .dockerignore` }];
  },
};
