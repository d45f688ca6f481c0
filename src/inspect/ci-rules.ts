import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';

/**
 * The rules of `slim inspect --ci`: dive's three under dive's names, defaults and value syntax (a
 * `.dive-ci` written for dive works unchanged), then slim's own, off unless given.
 */
export const CI_RULES = {
  lowestEfficiency: { kind: 'ratio', flag: '--lowest-efficiency', default: 0.9, help: 'fail when the efficiency is lower (0-1; dive\'s default 0.9)' },
  highestWastedBytes: { kind: 'size', flag: '--highest-wasted-bytes', default: 'disabled', help: 'fail when more bytes are wasted (bytes or a size like 20MB; dive\'s default disabled)' },
  highestUserWastedPercent: { kind: 'ratio', flag: '--highest-user-wasted-percent', default: 0.1, help: 'fail when wasted bytes are a larger share of the layers above the base layer (0-1; dive\'s default 0.1)' },
  largestLayer: { kind: 'size', flag: '--largest-layer', default: 'disabled', help: 'fail when a layer is bigger (bytes or a size like 100MB)' },
  setuidFiles: { kind: 'count', flag: '--max-setuid', default: 'disabled', help: 'fail when there are more setuid files' },
  shells: { kind: 'count', flag: '--max-shells', default: 'disabled', help: 'fail when there are more shells (0 forbids them)' },
  packageManagers: { kind: 'count', flag: '--max-package-managers', default: 'disabled', help: 'fail when there are more package managers (0 forbids them)' },
} as const satisfies Record<string, { kind: 'ratio' | 'size' | 'count'; flag: string; default: number | 'disabled'; help: string }>;

export type CiRuleName = keyof typeof CI_RULES;
export const CI_RULE_NAMES = Object.keys(CI_RULES) as CiRuleName[];

export type Threshold = number | 'disabled';

export interface CiRule {
  name: CiRuleName;
  threshold: Threshold;
  /** Where the threshold came from: a flag wins over the file, the file over the default. */
  source: 'default' | 'file' | 'flag';
}

export const DEFAULT_CI_FILE = '.dive-ci';

/** Decimal and binary units, as dive reads sizes (go-humanize's ParseBytes): `20MB` is 20 000 000, `20MiB` 20 971 520. */
const UNITS: Record<string, number> = { '': 1, b: 1 };
['k', 'm', 'g', 't', 'p', 'e'].forEach((u, i) => {
  UNITS[u] = UNITS[`${u}b`] = 1000 ** (i + 1);
  UNITS[`${u}i`] = UNITS[`${u}ib`] = 1024 ** (i + 1);
});

function bad(where: string, what: string, raw: unknown, hint?: string): UsageError {
  const shown = typeof raw === 'string' ? `"${raw}"` : JSON.stringify(raw) ?? String(raw);
  return new UsageError(`${where} must be ${what} or "disabled", not ${shown}`, hint ? { hint } : {});
}

/** A size in bytes: a whole number, or a number with a unit (`20MB`, `1.5 GiB`, `300k`). */
export function parseSize(where: string, raw: unknown): number {
  const m = typeof raw === 'string' ? /^\s*(\d[\d,]*(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(raw) : null;
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = typeof raw === 'number' ? Math.floor(raw) : m && unit !== undefined ? Math.floor(Number(m[1]!.replace(/,/g, '')) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw bad(where, 'a size in bytes, or with a unit like 20MB or 1.5GiB', raw);
  return n;
}

function parseNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  return typeof raw === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
}

/** One rule's threshold from a flag's text or a YAML value; `where` names it in the error. */
export function parseThreshold(name: CiRuleName, raw: unknown, where: string): Threshold {
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'disabled') return 'disabled';
  switch (CI_RULES[name].kind) {
    case 'ratio': {
      const n = parseNumber(raw);
      if (n >= 0 && n <= 1) return n;
      const pct = typeof raw === 'string' && /%\s*$/.test(raw) ? parseNumber(raw.replace(/%\s*$/, '')) : n;
      const hint = pct > 1 && pct <= 100 ? `a ratio, not a percentage, as dive takes it: ${pct / 100} for ${pct}%` : undefined;
      throw bad(where, 'a ratio between 0 and 1 like 0.9', raw, hint);
    }
    case 'size':
      return parseSize(where, raw);
    case 'count': {
      const n = parseNumber(raw);
      if (Number.isSafeInteger(n) && n >= 0) return n;
      throw bad(where, 'a whole number of at least 0', raw);
    }
  }
}

/** Edit distance, for naming the rules a mistyped one was probably meant to be. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

export function closeRuleNames(key: string): CiRuleName[] {
  const k = key.toLowerCase().replace(/[-_\s]/g, '');
  return CI_RULE_NAMES.map((name) => ({ name, d: distance(k, name.toLowerCase()) }))
    .filter(({ name, d }) => d <= Math.max(2, Math.floor(name.length / 3)) || (k.length >= 4 && (name.toLowerCase().includes(k) || k.includes(name.toLowerCase()))))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ name }) => name);
}

function unknownRule(file: string, key: string): UsageError {
  const close = closeRuleNames(key);
  const hint = close.length ? `did you mean ${close.join(' or ')}?` : `the rules are ${CI_RULE_NAMES.join(', ')}`;
  return new UsageError(`${file}: unknown rule "${key}"`, { hint });
}

/**
 * A `.dive-ci` document: a `rules:` mapping of rule names to thresholds. Names match whatever
 * their case, as dive's configuration reader matches them; an unknown name is an error here,
 * where dive would ignore it, since a rule that silently does not apply is a gate that is not there.
 */
export function parseCiFile(text: string, file: string): Partial<Record<CiRuleName, Threshold>> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${file} must be a mapping with a rules: key, as dive's .dive-ci is`);
  const out: Partial<Record<CiRuleName, Threshold>> = {};
  for (const [key, rules] of Object.entries(doc as Record<string, unknown>)) {
    if (key !== 'rules') throw new UsageError(`${file}: unknown key "${key}"`, { hint: 'a .dive-ci has one key, rules:, a mapping of rule names to thresholds' });
    if (rules === null || rules === undefined) continue;
    if (typeof rules !== 'object' || Array.isArray(rules)) throw new UsageError(`${file}: rules must be a mapping of rule names to thresholds`);
    for (const [ruleKey, value] of Object.entries(rules as Record<string, unknown>)) {
      const name = CI_RULE_NAMES.find((n) => n.toLowerCase() === ruleKey.toLowerCase());
      if (!name) throw unknownRule(file, ruleKey);
      if (name in out) throw new UsageError(`${file}: rule ${name} is given twice`);
      out[name] = parseThreshold(name, value, `${file}: rules.${ruleKey}`);
    }
  }
  return out;
}

/** Each rule with its threshold: from its flag, else the file, else the default. */
export function resolveCiRules(fromFile: Partial<Record<CiRuleName, Threshold>>, flags: Partial<Record<CiRuleName, string>>): CiRule[] {
  return CI_RULE_NAMES.map((name): CiRule => {
    const flag = flags[name];
    if (flag !== undefined) return { name, threshold: parseThreshold(name, flag, CI_RULES[name].flag), source: 'flag' };
    const inFile = fromFile[name];
    if (inFile !== undefined) return { name, threshold: inFile, source: 'file' };
    return { name, threshold: CI_RULES[name].default, source: 'default' };
  });
}

/** The options of `slim inspect` that feed the gate; the rule flags by their commander attribute names. */
export interface CiOptions {
  ci?: boolean;
  ciConfig?: string;
  [attribute: string]: unknown;
}

/** `--max-package-managers` → `maxPackageManagers`, as commander names the attribute. */
export const attributeOf = (flag: string): string => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The rules `--ci` checks, from the flags and the rules file (`--ci-config`, else ./.dive-ci when
 * present); null without `--ci`. Every mistake is a usage error here, before the image is read.
 */
export function ciRulesFromOptions(opts: CiOptions, cwdFileExists: (f: string) => boolean = existsSync): { rules: CiRule[]; file: string | null } | null {
  const flags: Partial<Record<CiRuleName, string>> = {};
  for (const name of CI_RULE_NAMES) {
    const v = opts[attributeOf(CI_RULES[name].flag)];
    if (v !== undefined) flags[name] = String(v);
  }
  if (!opts.ci) {
    const given = [...CI_RULE_NAMES.filter((n) => n in flags).map((n) => CI_RULES[n].flag), ...(opts.ciConfig !== undefined ? ['--ci-config'] : [])];
    if (given.length) throw new UsageError(`${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} only with --ci`, { hint: 'add --ci to check the image against the rules' });
    return null;
  }
  const file = opts.ciConfig ?? (cwdFileExists(DEFAULT_CI_FILE) ? DEFAULT_CI_FILE : null);
  let fromFile: Partial<Record<CiRuleName, Threshold>> = {};
  if (file !== null) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`cannot read the rules file ${file}: ${e.code ?? e.message}`);
    }
    fromFile = parseCiFile(text, file);
  }
  return { rules: resolveCiRules(fromFile, flags), file };
}
