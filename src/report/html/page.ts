/**
 * The page shell every HTML report shares: one self-contained file. Styles are inline and a
 * Content-Security-Policy forbids every fetch, so the page looks the same offline, from an
 * attachment or a CI artifact, and a string from the image cannot make it load anything.
 */

/** Markup already escaped or made here; a plain string is text and is always escaped. */
export interface Html {
  html: string;
}

export const raw = (html: string): Html => ({ html });

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '/': '&#47;', ':': '&#58;', '`': '&#96;', '=': '&#61;' };

/**
 * Text from an image (paths, instructions, check details) as HTML text or attribute value.
 * Slashes and colons are escaped too, so the file holds no `//` or `scheme:` that any tool could
 * take for a link; control characters, which HTML cannot carry, become U+FFFD.
 */
export function esc(s: string | number): string {
  return String(s)
    .replace(/[&<>"'/:`=]/g, (c) => ENTITIES[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}

export const cell = (c: string | number | Html): string => (typeof c === 'object' ? c.html : esc(c));

export function table(head: readonly string[], rows: readonly (readonly (string | number | Html)[])[], opts: { cls?: string; empty?: string } = {}): string {
  if (rows.length === 0) return `<p class="muted">${esc(opts.empty ?? 'none')}</p>`;
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table${opts.cls ? ` class="${opts.cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A result word (pass, fail, done, …) as a coloured badge. */
export function badge(result: string): string {
  const tone = /^(pass|ok|done|repaired|not-needed)$/.test(result) ? 'good' : /^(fail|failed|verify-failed|over-budget)$/.test(result) ? 'bad' : /^(warning)$/.test(result) ? 'warn' : 'plain';
  return `<span class="badge ${tone}">${esc(result)}</span>`;
}

export function facts(rows: readonly [string, string | number | Html][]): string {
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${cell(v)}</dd>`).join('')}</dl>`;
}

export function list(items: readonly (string | Html)[], opts: { max?: number } = {}): string {
  const max = opts.max ?? 50;
  const more = items.length > max ? `<li class="muted">… and ${items.length - max} more</li>` : '';
  return `<ul>${items.slice(0, max).map((i) => `<li>${cell(i)}</li>`).join('')}${more}</ul>`;
}

export interface Section {
  id: string;
  title: string;
  /** Markup made with the helpers here: every string from the image in it is escaped. */
  body: string;
}

export interface PageInput {
  title: string;
  /** Markup under the title: the one-line verdict and the headline numbers. */
  lead: string;
  sections: readonly Section[];
}

const CSS = `
:root{--fg:#1d232a;--muted:#66707a;--line:#d8dde2;--bg:#fff;--panel:#f6f8fa;--kept:#2f8f5b;--removed:#d98b7e;--added:#4c7fd1;--bar:#5b7fa6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px 14px;border-bottom:1px solid var(--line);background:var(--panel)}
h1{margin:0 0 6px;font-size:20px;word-break:break-all}
h2{margin:0 0 10px;font-size:16px}
main{padding:8px 28px 32px;max-width:1240px}
section{padding:16px 0;border-bottom:1px solid var(--line)}
nav{font-size:13px;margin-top:8px}
nav a{color:var(--bar);margin-right:12px;text-decoration:none}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
td{word-break:break-word}
td.num,th.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;background:#e3e7eb}
.badge.good{background:#d5f0df;color:#1c6b3f}.badge.bad{background:#f8d7d3;color:#9a2a1c}.badge.warn{background:#fbeccb;color:#7a5300}
pre.output{background:#f5f6f7;padding:8px 10px;border-radius:4px;overflow-x:auto;font-size:12px;white-space:pre}
.muted{color:var(--muted)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
.facts dt{color:var(--muted)}.facts dd{margin:0;word-break:break-word}
.legend{font-size:12px;color:var(--muted);margin:4px 0 8px}
.sw{display:inline-block;width:11px;height:11px;margin:0 4px 0 10px;vertical-align:-1px;border-radius:2px}
svg{display:block;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}
svg .head{fill:#eef1f4;stroke:#fff;stroke-width:1}
svg .kept{fill:var(--kept)}svg .removed{fill:var(--removed)}svg .added{fill:var(--added)}svg .bar{fill:var(--bar)}
svg .track{fill:#eef1f4}
svg .cell{stroke:#fff;stroke-width:1}
svg text.hd{font-weight:600}
svg text.lbl{paint-order:stroke;stroke:#fff;stroke-opacity:.7;stroke-width:3px}
.sw.kept{background:var(--kept)}.sw.removed{background:var(--removed)}.sw.added{background:var(--added)}.sw.bar{background:var(--bar)}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
`;

/** The whole document. Inline SVG needs no namespace in HTML, so nothing here names a URL. */
export function page(p: PageInput): string {
  const nav = p.sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const sections = p.sections.map((s) => `<section id="${esc(s.id)}">\n<h2>${esc(s.title)}</h2>\n${s.body}\n</section>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(p.title)}</h1>
${p.lead}
<nav>${nav}</nav>
</header>
<main>
${sections}
</main>
</body>
</html>
`;
}
