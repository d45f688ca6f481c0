import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseDockerfile } from './dockerfile.js';
import { RULES } from './rules.js';
import type { Finding, LintContext, Severity } from './rules/rule.js';

export type { Finding, Severity } from './rules/rule.js';

export interface LintOptions {
  /** Files of the build context the rules read; a key left out is not checked. */
  contextFiles?: { dockerignore?: string | null };
  /** Rule ids to skip. */
  ignore?: readonly string[];
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Pure: the findings for a Dockerfile's text, ordered by line then rule. */
export function lintDockerfile(text: string, opts: LintOptions = {}): Finding[] {
  const df = parseDockerfile(text);
  const ctx: LintContext = opts.contextFiles ?? {};
  const ignore = new Set(opts.ignore ?? []);
  return RULES.filter((rule) => !ignore.has(rule.id))
    .flatMap((rule) =>
      rule.check(df, ctx).map((hit) => ({
        rule: rule.id,
        severity: hit.severity ?? rule.severity,
        line: hit.line,
        stage: hit.stage,
        message: hit.message,
        fix: hit.fix ?? rule.fix,
      })),
    )
    .sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

/**
 * Reads the Dockerfile and the ignore file the builder would use: BuildKit prefers
 * `<Dockerfile>.dockerignore` beside the Dockerfile, then the context's .dockerignore
 * (default context: the Dockerfile's directory).
 */
export async function lintFile(path: string, contextDir: string = dirname(path), opts: Omit<LintOptions, 'contextFiles'> = {}): Promise<Finding[]> {
  const text = await readText(path);
  if (text === null) throw new UsageError(`cannot read Dockerfile ${path}`);
  const dockerignore = (await readText(`${path}.dockerignore`)) ?? (await readText(join(contextDir, '.dockerignore')));
  return lintDockerfile(text, { ...opts, contextFiles: { dockerignore } });
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw err;
  }
}
