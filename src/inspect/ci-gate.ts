import { formatBytes } from '../report/report.js';
import type { InspectReport } from './analyse.js';
import type { CiRule, CiRuleName, Threshold } from './ci-rules.js';

export type CiStatus = 'pass' | 'fail' | 'skip';

export interface CiRuleResult {
  rule: CiRuleName;
  status: CiStatus;
  /** What was measured on the image; null when the image gives the rule nothing to measure. */
  value: number | null;
  threshold: Threshold;
  source: CiRule['source'];
  /** The line dive would print after the rule's name: what was measured against what. */
  message: string;
}

export interface CiReport {
  pass: boolean;
  /** The rules file read, if any. */
  config: string | null;
  rules: CiRuleResult[];
  tally: { total: number; pass: number; fail: number; skip: number };
}

interface Measured {
  value: number | null;
  /** Why there is no value, or what else to say about it (the layer, the files). */
  note?: string;
}

interface Check {
  /** The quantity's name in the messages, as dive names its own. */
  key: string;
  measure(r: InspectReport): Measured;
  /** Dive's comparisons: a floor for efficiency, a ceiling for the rest; meeting the threshold passes. */
  fails(value: number, threshold: number): boolean;
  show(n: number): string;
  tooMuch: string;
}

const ratio = (n: number): string => String(Number(n.toFixed(6)));
const bytes = (n: number): string => (n < 1000 ? `${n}` : `${n} (${formatBytes(n)})`);
const count = (n: number): string => String(n);
const MAX_LISTED = 5;

function listed(paths: readonly string[]): string | undefined {
  if (!paths.length) return undefined;
  return paths.slice(0, MAX_LISTED).join(', ') + (paths.length > MAX_LISTED ? `, … (${paths.length - MAX_LISTED} more)` : '');
}

/**
 * Dive's share of waste: wasted bytes over the bytes of every layer but the first, the base
 * image's own bytes left out of what the user added. Layer bytes are content as docker history
 * counts it.
 */
export function userWastedRatio(r: InspectReport): Measured {
  const userBytes = r.layers.slice(1).reduce((n, l) => n + l.bytes, 0);
  if (userBytes === 0) return { value: null, note: 'no bytes in layers above the base layer' };
  return { value: r.wasted.bytes / userBytes, note: `${formatBytes(r.wasted.bytes)} wasted of ${formatBytes(userBytes)} above the base layer` };
}

const CHECKS: Record<CiRuleName, Check> = {
  lowestEfficiency: {
    key: 'efficiency',
    measure: (r) => ({ value: r.efficiency }),
    fails: (v, t) => v < t,
    show: ratio,
    tooMuch: 'image efficiency is too low',
  },
  highestWastedBytes: {
    key: 'wasted-bytes',
    measure: (r) => ({ value: r.wasted.bytes }),
    fails: (v, t) => v > t,
    show: bytes,
    tooMuch: 'too many bytes wasted',
  },
  highestUserWastedPercent: {
    key: '%-user-wasted-bytes',
    measure: userWastedRatio,
    fails: (v, t) => v > t,
    show: ratio,
    tooMuch: 'too many bytes wasted, relative to the user bytes added',
  },
  largestLayer: {
    key: 'largest-layer',
    measure: (r) => {
      const top = r.layers.reduce<InspectReport['layers'][number] | undefined>((a, l) => (a && a.bytes >= l.bytes ? a : l), undefined);
      return top ? { value: top.bytes, note: `layer ${top.index}: ${top.instruction || '(no history)'}`.slice(0, 120) } : { value: 0 };
    },
    fails: (v, t) => v > t,
    show: bytes,
    tooMuch: 'a layer is too big',
  },
  setuidFiles: {
    key: 'setuid-files',
    measure: (r) => {
      const paths = r.setid.filter((s) => s.setuid).map((s) => s.path);
      return { value: paths.length, ...(listed(paths) ? { note: listed(paths) } : {}) };
    },
    fails: (v, t) => v > t,
    show: count,
    tooMuch: 'too many setuid files',
  },
  shells: {
    key: 'shells',
    measure: (r) => ({ value: r.tools.shells.length, ...(listed(r.tools.shells) ? { note: listed(r.tools.shells) } : {}) }),
    fails: (v, t) => v > t,
    show: count,
    tooMuch: 'too many shells',
  },
  packageManagers: {
    key: 'package-managers',
    measure: (r) => ({ value: r.tools.packageManagers.length, ...(listed(r.tools.packageManagers) ? { note: listed(r.tools.packageManagers) } : {}) }),
    fails: (v, t) => v > t,
    show: count,
    tooMuch: 'too many package managers',
  },
};

function evaluateRule(r: InspectReport, rule: CiRule): CiRuleResult {
  const check = CHECKS[rule.name];
  const { value, note } = check.measure(r);
  const base = { rule: rule.name, value, threshold: rule.threshold, source: rule.source };
  const measured = value === null ? '' : `${check.key}=${check.show(value)}`;
  const withNote = (s: string) => (note ? `${s}; ${note}` : s);
  if (rule.threshold === 'disabled') return { ...base, status: 'skip', message: `rule disabled${measured ? ` (${withNote(measured)})` : ''}` };
  if (value === null) return { ...base, status: 'skip', message: `nothing to measure: ${note ?? 'no value'}` };
  const t = `threshold=${check.show(rule.threshold)}`;
  if (check.fails(value, rule.threshold)) {
    const op = rule.name === 'lowestEfficiency' ? '<' : '>';
    return { ...base, status: 'fail', message: `${check.tooMuch} (${withNote(`${measured} ${op} ${t}`)})` };
  }
  const op = rule.name === 'lowestEfficiency' ? '>=' : '<=';
  return { ...base, status: 'pass', message: withNote(`${measured} ${op} ${t}`) };
}

/** Every rule against the report; the gate passes when none fails (a skipped rule does not fail). */
export function evaluateCi(r: InspectReport, rules: readonly CiRule[], config: string | null = null): CiReport {
  const results = rules.map((rule) => evaluateRule(r, rule));
  const tally = { total: results.length, pass: 0, fail: 0, skip: 0 };
  for (const res of results) tally[res.status]++;
  return { pass: tally.fail === 0, config, rules: results, tally };
}

const LABEL: Record<CiStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/** Dive's CI results block: one `STATUS: rule: message` line a rule, then its summary line. */
export function renderCi(ci: CiReport): string {
  const lines = [`ci rules (${ci.config ? `rules file ${ci.config}` : 'no rules file'}; a flag wins over the file)`];
  for (const res of ci.rules) lines.push(`  ${LABEL[res.status]}: ${res.rule}: ${res.message}`);
  const t = ci.tally;
  lines.push(`Result:${ci.pass ? 'PASS' : 'FAIL'} [Total:${t.total}] [Passed:${t.pass}] [Failed:${t.fail}] [Warn:0] [Skipped:${t.skip}]`);
  return lines.join('\n') + '\n';
}
