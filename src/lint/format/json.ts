import type { Finding } from '../rules/rule.js';

/** The findings as an array; a build-context finding has line null rather than a line 0 that is no line. */
export function formatJson(findings: readonly Finding[]): string {
  const out = findings.map((f) => ({
    file: f.file,
    line: f.line > 0 ? f.line : null,
    rule: f.rule,
    hadolint: f.hadolint,
    severity: f.severity,
    stage: f.stage,
    message: f.message,
    fix: f.fix,
    dockerfile: f.dockerfile,
  }));
  return JSON.stringify(out, null, 2) + '\n';
}
