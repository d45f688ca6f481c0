import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { NO_CONFIG, type LintConfig } from './config.js';
import { parseDockerfile } from './dockerfile.js';
import { readText } from './files.js';
import { ignoredByPragma, readPragmas } from './ignores.js';
import { RULES } from './rules.js';
import type { Finding, Hit, LintContext, Rule, Severity } from './rules/rule.js';

export type { Finding, Severity } from './rules/rule.js';

export interface LintOptions {
  /** The Dockerfile's name in findings. */
  file?: string;
  /** Files of the build context the rules read; a key left out is not checked. */
  contextFiles?: { dockerignore?: string | null; dockerignorePath?: string; dir?: string };
  /** Rule ids to skip: slim's, or hadolint's that a slim rule matches. */
  ignore?: readonly string[];
  config?: LintConfig;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Where a context finding points: the ignore file that was read, else the context as a whole. */
export const BUILD_CONTEXT = '(build context)';

/** Pure: the findings for a Dockerfile's text, ignores and overrides applied, ordered by line then rule. */
export function lintDockerfile(text: string, opts: LintOptions = {}): Finding[] {
  const df = parseDockerfile(text);
  const config = opts.config ?? NO_CONFIG;
  const files = opts.contextFiles ?? {};
  const ctx: LintContext = {
    ...('dockerignore' in files ? { dockerignore: files.dockerignore } : {}),
    ...(files.dir !== undefined ? { dir: files.dir } : {}),
    ...(config.trustedRegistries !== undefined ? { trustedRegistries: config.trustedRegistries } : {}),
  };
  const ignore = new Set([...(opts.ignore ?? []), ...config.ignored]);
  const pragmas = readPragmas(text, df);
  const place = { dockerfile: opts.file ?? 'Dockerfile', context: files.dockerignorePath ?? BUILD_CONTEXT };
  return RULES.filter((rule) => !ignore.has(rule.id))
    .flatMap((rule) => rule.check(df, ctx).map((hit) => toFinding(rule, hit, place)))
    .filter((f) => !(f.hadolint !== null && ignore.has(f.hadolint)) && !ignoredByPragma(f, pragmas))
    .map((f) => ({ ...f, severity: overridden(f, config) ?? f.severity }))
    .sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

function toFinding(rule: Rule, hit: Hit, place: { dockerfile: string; context: string }): Finding {
  const only = rule.hadolint?.length === 1 ? rule.hadolint[0]! : null;
  return {
    rule: rule.id,
    hadolint: hit.hadolint !== undefined ? hit.hadolint : only,
    severity: hit.severity ?? rule.severity,
    dockerfile: place.dockerfile,
    file: hit.line === 0 ? place.context : place.dockerfile,
    line: hit.line,
    stage: hit.stage,
    message: hit.message,
    fix: hit.fix ?? rule.fix,
  };
}

// The most severe level that names the finding wins, so an override never hides an error by accident.
function overridden(f: Finding, config: LintConfig): Severity | undefined {
  return (['error', 'warning', 'info'] as const).find((level) => config.override[level]?.some((id) => id === f.rule || id === f.hadolint));
}

/**
 * Reads the Dockerfile and the ignore file the builder would use: BuildKit prefers
 * `<Dockerfile>.dockerignore` beside the Dockerfile, then the context's .dockerignore
 * (default context: the Dockerfile's directory).
 */
export async function lintFile(path: string, contextDir: string = dirname(path), opts: Omit<LintOptions, 'contextFiles' | 'file'> = {}): Promise<Finding[]> {
  const text = await readText(path);
  if (text === null) throw new UsageError(`cannot read Dockerfile ${path}`);
  return lintDockerfile(text, { ...opts, file: path, contextFiles: await readContext(path, contextDir) });
}

/** The context files for a Dockerfile (null: read from stdin, so only the context's own ignore file counts). */
export async function readContext(dockerfile: string | null, dir: string): Promise<NonNullable<LintOptions['contextFiles']>> {
  for (const candidate of [...(dockerfile !== null ? [`${dockerfile}.dockerignore`] : []), join(dir, '.dockerignore')]) {
    const text = await readText(candidate);
    if (text !== null) return { dockerignore: text, dockerignorePath: candidate, dir };
  }
  return { dockerignore: null, dir };
}
