import { ruleLabel } from '../hadolint.js';
import type { Finding } from '../rules/rule.js';
import { placeText } from './place.js';

/** One line per finding, as hadolint's tty format: `FILE:LINE RULE (DLxxxx) severity: message (fix: …)`. */
export function formatText(findings: readonly Finding[]): string {
  return findings.map((f) => `${placeText(f)} ${ruleLabel(f)} ${f.severity}: ${f.message} (fix: ${f.fix})\n`).join('');
}
