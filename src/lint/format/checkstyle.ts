import { ruleLabel } from '../hadolint.js';
import type { Finding } from '../rules/rule.js';
import { placeOf } from './place.js';

/**
 * Checkstyle XML, grouped by file, every linted Dockerfile listed (a clean one as an empty
 * <file>, which CI plugins count as checked). A finding with no line has no line attribute.
 */
export function formatCheckstyle(findings: readonly Finding[], dockerfiles: readonly string[]): string {
  const byFile = new Map<string, Finding[]>(dockerfiles.map((d) => [d, []]));
  for (const f of findings) {
    const path = placeOf(f).path;
    byFile.set(path, [...(byFile.get(path) ?? []), f]);
  }
  const files = [...byFile].map(([path, list]) => {
    const errors = list.map((f) => {
      const line = placeOf(f).line;
      const at = line !== null ? ` line="${line}" column="1"` : '';
      return `    <error${at} severity="${f.severity}" message="${xml(`${f.message} (fix: ${f.fix})`)}" source="${xml(ruleLabel(f))}"/>\n`;
    });
    return `  <file name="${xml(path)}">\n${errors.join('')}  </file>\n`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<checkstyle version="4.3">\n${files.join('')}</checkstyle>\n`;
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // XML 1.0 has no way to write most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[\n\r\t]/g, (c) => `&#${c.charCodeAt(0)};`);
}
