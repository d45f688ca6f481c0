import { SLIM_VERSION } from '../../version.js';
import { ruleLabel } from '../hadolint.js';
import { RULES } from '../rules.js';
import type { Finding, Severity } from '../rules/rule.js';
import { pathUri, placeOf } from './place.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/**
 * SARIF 2.1.0, one run, for code scanning. Every rule is in the driver (results point at it by
 * index), with the hadolint ids it matches as a property; a result's message starts with the
 * rule and its hadolint id, the one place code scanning shows both.
 */
export function formatSarif(findings: readonly Finding[]): string {
  const index = new Map(RULES.map((r, i) => [r.id, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'slim',
            version: SLIM_VERSION,
            rules: RULES.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.description },
              help: { text: `Fix: ${r.fix}` },
              defaultConfiguration: { level: LEVEL[r.severity] },
              ...(r.hadolint ? { properties: { hadolint: [...r.hadolint] } } : {}),
            })),
          },
        },
        results: findings.map((f) => {
          const place = placeOf(f);
          return {
            ruleId: f.rule,
            ruleIndex: index.get(f.rule) ?? -1,
            level: LEVEL[f.severity],
            message: { text: `${ruleLabel(f)}: ${f.message} (fix: ${f.fix})` },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: pathUri(place.path) },
                  ...(place.line !== null ? { region: { startLine: place.line } } : {}),
                },
              },
            ],
            properties: { ...(f.hadolint !== null ? { hadolint: f.hadolint } : {}), ...(f.stage !== null ? { stage: f.stage } : {}) },
          };
        }),
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
