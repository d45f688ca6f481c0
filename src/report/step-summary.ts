import { appendFile } from 'node:fs/promises';
import { formatBytes, outputName, type BuildErrorReport, type BuildReport } from './report.js';

/**
 * Text from the image, the app or the engine goes into a table cell or a code span: it must not
 * end the cell, open HTML or run over lines, whatever it holds.
 */
export function cell(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  const cut = one.length > max ? one.slice(0, max - 1) + '…' : one;
  return cut.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/`/g, "'");
}

const code = (text: string) => `\`${cell(text)}\``;
const seconds = (s: number) => `${s.toFixed(1)} s`;

function timings(t: Partial<Record<string, number>>): string {
  const phases = Object.entries(t).filter(([k, v]) => k !== 'total' && v !== undefined && v > 0);
  return `**Timings:** ${[...phases.map(([k, v]) => `${k} ${seconds(v!)}`), `total ${seconds(t.total ?? 0)}`].join(' · ')}`;
}

/**
 * What a container printed, as a fenced block: GitHub shows it as text, HTML and all. The fence is
 * longer than any run of backticks in the text, so no line of it can close the block.
 */
function outputBlock(title: string, text: string[]): string[] {
  if (!text.length) return [`**${title}:** nothing`, ''];
  const longest = Math.max(0, ...text.map((l) => Math.max(0, ...[...l.matchAll(/`+/g)].map((m) => m[0].length))));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`**${title}:**`, '', `${fence}text`, ...text, fence, ''];
}

/** The build as a GitHub Actions job summary: what a reviewer of the run wants without opening the logs. */
export function stepSummary(r: BuildReport | BuildErrorReport): string {
  if (r.status === 'error') {
    return [
      `### ❌ slim: the build of ${r.input.ref ? code(r.input.ref) : 'no image'} failed (${code(r.error.code)})`,
      '',
      cell(r.error.message, 2000),
      ...(r.error.hint ? ['', `> hint: ${cell(r.error.hint, 1000)}`] : []),
      '',
      timings(r.timings),
      '',
    ].join('\n');
  }
  const head =
    r.status === 'ok' ? `### ✅ slim: built ${code(outputName(r))} from ${code(r.input.ref)}`
    : r.status === 'over-budget' ? `### ⚠️ slim: built ${code(outputName(r))} from ${code(r.input.ref)}, but over budget: nothing written or tagged`
    : `### ❌ slim: the slim image of ${code(r.input.ref)} failed verification: nothing written or tagged`;
  const lines = [
    head,
    '',
    '| | original | slim | |',
    '| --- | ---: | ---: | --- |',
    `| size | ${formatBytes(r.input.size)} | ${formatBytes(r.output.size)} | ${r.reduction.sizeRatio.toFixed(1)}x smaller |`,
    `| files | ${r.input.files} | ${r.output.files} | ${r.reduction.filesRatio.toFixed(1)}x fewer |`,
    '',
  ];
  for (const b of r.budget.broken) lines.push(`- **Budget:** ${cell(b)}`);
  if (r.budget.broken.length) lines.push('');
  if (r.verify.checks.length) {
    lines.push('| check | original | slim | detail |', '| --- | --- | --- | --- |');
    for (const c of r.verify.checks) lines.push(`| ${cell(c.name)} | ${c.original} | ${c.slim === 'fail' ? '**fail**' : c.slim} | ${cell(c.detail)} |`);
    lines.push('');
  }
  if (r.verify.output) {
    lines.push(...outputBlock("The slim image's container, its last lines", r.verify.output.slim), ...outputBlock("The original's, same checks", r.verify.output.original));
  }
  if (r.output.keptFailed) lines.push(`- kept the failed slim image as ${code(r.output.keptFailed)} (\`--keep-failed\`)`, '');
  if (r.repair.result !== 'not-needed') {
    const rounds = r.repair.rounds ? ` after ${r.repair.rounds} round${r.repair.rounds === 1 ? '' : 's'}` : '';
    lines.push(`**Repair:** ${r.repair.result}${rounds}${r.repair.note ? ` (${cell(r.repair.note)})` : ''}`);
    for (const a of r.repair.added.slice(0, 20)) lines.push(`- added ${code(a.path)} (round ${a.round}, needed by ${a.neededBy.map((n) => cell(n)).join(', ')})`);
    if (r.repair.added.length > 20) lines.push(`- … and ${r.repair.added.length - 20} more (see the report)`);
    lines.push('');
  }
  for (const h of r.harden?.steps ?? []) lines.push(`- **Harden** ${h.step}: ${h.result}, ${cell(h.detail)}`);
  if (r.harden?.steps.length) lines.push('');
  for (const b of r.rebuild ?? []) {
    lines.push(b.applied ? `- **Rebuild** ${b.target}: ${formatBytes(b.removedBytes)} less, ${b.files.map((f) => `${code(f.path)} ${formatBytes(f.before)} → ${formatBytes(f.after)}`).join(', ')}` : `- **Rebuild** ${b.target}: not applied, ${cell(b.reason ?? '')}`);
  }
  if (r.rebuild?.length) lines.push('');
  for (const w of r.output.written) lines.push(`- written ${code(w)}`);
  for (const p of r.output.pushed ?? []) lines.push(`- pushed ${code(p.ref)}`);
  if (r.output.written.length || r.output.pushed?.length) lines.push('');
  lines.push(timings(r.timings), '');
  return lines.join('\n');
}

/**
 * GitHub Actions sets GITHUB_STEP_SUMMARY to a file each step may append Markdown to. A summary
 * that cannot be written costs the build nothing: it is said as a warning.
 */
export async function appendStepSummary(r: BuildReport | BuildErrorReport, env: NodeJS.ProcessEnv, warn: (msg: string) => void): Promise<void> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    await appendFile(file, stepSummary(r) + '\n');
  } catch (err) {
    warn(`cannot append the job summary to GITHUB_STEP_SUMMARY ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
