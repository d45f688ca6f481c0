import { createHash } from 'node:crypto';
import { ruleLabel } from '../hadolint.js';
import type { Finding, Severity } from '../rules/rule.js';
import { normalisePath, placeOf } from './place.js';

const SEVERITY: Record<Severity, string> = { error: 'critical', warning: 'major', info: 'info' };

/**
 * GitLab code quality (a subset of Code Climate's format). GitLab compares a merge request's
 * report to its target's by fingerprint, so the fingerprint leaves out the line: a finding that
 * only moved is not new. Equal findings in one file are told apart by their order.
 */
export function formatGitlab(findings: readonly Finding[]): string {
  const seen = new Map<string, number>();
  const out = findings.map((f) => {
    const place = placeOf(f);
    const path = normalisePath(place.path);
    // Messages that cite other lines ("which line 2 added") would move with them too.
    const key = [path, f.rule, f.hadolint ?? '', f.stage ?? '', f.message.replace(/\bline \d+/g, 'line')].join('\0');
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return {
      description: `${f.message} (fix: ${f.fix})`,
      check_name: ruleLabel(f),
      fingerprint: createHash('sha256').update(`${key}\0${n}`).digest('hex'),
      severity: SEVERITY[f.severity],
      location: { path, lines: { begin: place.line ?? 1 } },
    };
  });
  return JSON.stringify(out, null, 2) + '\n';
}
