import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';
import { readText } from './files.js';
import { checkRuleIds } from './rule-ids.js';
import type { Severity } from './rules/rule.js';

/** `.slim-lint.yaml`: the keys of hadolint's config that slim's rules have a use for. */
export interface LintConfig {
  /** The file it was read from; null for none. */
  file: string | null;
  ignored: string[];
  /** Severity → rule ids (slim's, or hadolint's that a slim rule matches). */
  override: Partial<Record<Severity, string[]>>;
  /** Registries FROM may use; undefined leaves FROM unchecked. */
  trustedRegistries?: string[];
}

export const NO_CONFIG: LintConfig = { file: null, ignored: [], override: {} };

const NAMES = ['.slim-lint.yaml', '.slim-lint.yml'];
const KEYS = ['ignored', 'override', 'trustedRegistries'];
// hadolint's `style` level is below info; slim has no lower level than info.
const LEVELS: Record<string, Severity> = { error: 'error', warning: 'warning', info: 'info', style: 'info' };

/**
 * `--config FILE`, else `.slim-lint.yaml` beside the Dockerfile, else in the current directory;
 * none found is no config.
 */
export async function loadLintConfig(explicit: string | undefined, dockerfile: string | null): Promise<LintConfig> {
  if (explicit !== undefined) {
    const text = await readText(explicit);
    if (text === null) throw new UsageError(`cannot read the lint config ${explicit}`);
    return parseLintConfig(text, explicit);
  }
  const dirs = [...(dockerfile !== null ? [dirname(dockerfile)] : []), '.'];
  for (const dir of dirs) {
    for (const name of NAMES) {
      const file = dir === '.' ? name : join(dir, name);
      const text = await readText(file);
      if (text !== null) return parseLintConfig(text, file);
    }
  }
  return NO_CONFIG;
}

export function parseLintConfig(text: string, file: string): LintConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return { ...NO_CONFIG, file };
  if (!isMapping(doc)) throw new UsageError(`${file} must be a mapping (ignored, override, trustedRegistries)`);
  for (const key of Object.keys(doc)) {
    if (!KEYS.includes(key)) throw new UsageError(`${file}: unknown key "${key}"`, { hint: `the keys are ${KEYS.join(', ')}` });
  }
  const config: LintConfig = { file, ignored: checkRuleIds(strings(doc.ignored, `${file}: ignored`), `${file}: ignored`), override: {} };
  if (doc.override !== undefined && doc.override !== null) {
    if (!isMapping(doc.override)) throw new UsageError(`${file}: override must map error, warning or info to lists of rule ids`);
    for (const [level, ids] of Object.entries(doc.override)) {
      const severity = LEVELS[level];
      if (!severity) throw new UsageError(`${file}: override.${level} is not a level`, { hint: 'use error, warning or info' });
      const where = `${file}: override.${level}`;
      config.override[severity] = [...(config.override[severity] ?? []), ...checkRuleIds(strings(ids, where), where)];
    }
  }
  if (doc.trustedRegistries !== undefined && doc.trustedRegistries !== null) {
    const one = typeof doc.trustedRegistries === 'string' ? [doc.trustedRegistries] : doc.trustedRegistries;
    config.trustedRegistries = strings(one, `${file}: trustedRegistries`);
  }
  return config;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new UsageError(`${where} must be a list of strings`);
  return v as string[];
}
