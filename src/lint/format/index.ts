import type { Finding } from '../rules/rule.js';
import { formatCheckstyle } from './checkstyle.js';
import { formatGitlab } from './gitlab.js';
import { formatJson } from './json.js';
import { formatSarif } from './sarif.js';
import { formatText } from './text.js';

export const FORMATS = ['text', 'json', 'sarif', 'checkstyle', 'gitlab'] as const;
export type Format = (typeof FORMATS)[number];

/** The findings of all the Dockerfiles linted, in one document of the format. */
export function formatFindings(format: Format, findings: readonly Finding[], dockerfiles: readonly string[]): string {
  switch (format) {
    case 'text': return formatText(findings);
    case 'json': return formatJson(findings);
    case 'sarif': return formatSarif(findings);
    case 'checkstyle': return formatCheckstyle(findings, dockerfiles);
    case 'gitlab': return formatGitlab(findings);
  }
}
