import { formatBytes, type BuildReport } from '../report.js';
import { NO_PACKAGE, type PackageSize, type SizeNode } from '../tree-sizes.js';
import { badge, esc, facts, list, page, raw, table, type Section } from './page.js';
import { barsSvg, legend, treemapSvg, type Cell } from './svg.js';
import type { TreeItem } from './treemap.js';

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%');
const seconds = (s: number) => `${s.toFixed(1)} s`;

function keptCell(label: string, path: string, kept: number, removed: number): Cell {
  const total = kept + removed;
  return {
    label,
    title: `${path}: ${formatBytes(total)}, kept ${formatBytes(kept)} (${pct(kept, total)}), removed ${formatBytes(removed)}`,
    parts: [{ value: kept, cls: 'kept' }, { value: removed, cls: 'removed' }],
  };
}

const lastPart = (path: string) => (path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1) || path);

/** The size tree as treemap items: a directory's label is its own name, its tooltip the whole path. */
export function dirItems(node: SizeNode): TreeItem<Cell>[] {
  const toItem = (d: SizeNode): TreeItem<Cell> => {
    const name = d.kind === 'files' ? 'files' : d.kind === 'other' ? 'smaller dirs' : lastPart(d.path);
    const kids = d.children?.filter((c) => c.kept + c.removed > 0).map(toItem);
    return { value: d.kept + d.removed, data: keptCell(name, d.path, d.kept, d.removed), ...(kids?.length ? { children: kids } : {}) };
  };
  return (node.children ?? [node]).filter((c) => c.kept + c.removed > 0).map(toItem);
}

const packageItems = (ps: readonly PackageSize[]): TreeItem<Cell>[] =>
  ps.filter((p) => p.kept + p.removed > 0).map((p) => ({ value: p.kept + p.removed, data: keptCell(p.name, `package ${p.name}`, p.kept, p.removed) }));

const KEPT_LEGEND = legend([
  ['kept', 'kept in the slim image'],
  ['removed', 'removed'],
]);

function treemaps(r: BuildReport): Section[] {
  const s = r.sizes;
  if (!s) {
    // A report from before sizes were recorded: only the largest removed directories are known.
    const items = r.removed.largestDirs.map((d) => ({ value: d.bytes, data: { label: d.path, title: `${d.path}: ${formatBytes(d.bytes)} removed in ${d.files} files`, parts: [{ value: d.bytes, cls: 'removed' }] } }));
    return [{ id: 'dirs', title: 'Removed, by directory', body: `<p class="muted">This report does not carry the original's directory sizes; these are the largest removed directories.</p>${treemapSvg(items, { label: 'largest removed directories', height: 320 })}` }];
  }
  const total = s.dirs.kept + s.dirs.removed;
  const out: Section[] = [
    {
      id: 'dirs',
      title: 'The original, by directory',
      body: `<p>${esc(formatBytes(total))} of files, ${esc(formatBytes(s.dirs.kept))} kept (${esc(pct(s.dirs.kept, total))}); directories to ${s.depth} levels, the smaller ones together.</p>${KEPT_LEGEND}${treemapSvg(dirItems(s.dirs), { label: 'treemap of the original image by directory, kept and removed' })}`,
    },
  ];
  const owned = s.packages?.filter((p) => p.name !== NO_PACKAGE) ?? [];
  if (s.packages && owned.length) {
    out.push({
      id: 'packages',
      title: 'The original, by package',
      body: `${KEPT_LEGEND}${treemapSvg(packageItems(s.packages), { label: 'treemap of the original image by package, kept and removed', height: 420 })}${table(
        ['package', 'size', 'kept', 'removed'],
        s.packages.slice(0, 15).map((p) => [p.name, formatBytes(p.kept + p.removed), `${formatBytes(p.kept)} (${pct(p.kept, p.kept + p.removed)})`, formatBytes(p.removed)]),
      )}`,
    });
  }
  return out;
}

function checks(r: BuildReport): Section {
  const v = r.verify;
  const rows = v.checks.map((c) => [c.name, raw(badge(c.original)), raw(badge(c.slim)), c.detail]);
  return {
    id: 'checks',
    title: 'Checks, on both images',
    body: `${facts([
      ['original', raw(`${badge(v.original)} ${esc(v.details.original)}`)],
      ['slim', raw(`${badge(v.slim)} ${esc(v.details.slim)}`)],
      ['HEALTHCHECK', `original ${v.healthcheck.original}, slim ${v.healthcheck.slim}`],
    ])}${table(['check', 'original', 'slim', 'detail'], rows, { cls: 'checks', empty: 'no checks ran' })}${v.output ? printed(v.output) : ''}`,
  };
}

/** What each container printed last, when the slim image failed: escaped text, never markup. */
function printed(o: NonNullable<BuildReport['verify']['output']>): string {
  const block = (title: string, ls: string[]) => `<h3>${esc(title)}</h3><pre class="output">${ls.length ? esc(ls.join('\n')) : '(nothing)'}</pre>`;
  return block("The slim image's container, its last lines", o.slim) + block("The original's, same checks", o.original);
}

function repair(r: BuildReport): Section {
  const p = r.repair;
  const rounds = p.rounds ? ` after ${p.rounds} round${p.rounds === 1 ? '' : 's'}` : '';
  const rows = p.added.map((a) => [raw(`<code>${esc(a.path)}</code>`), a.round, a.neededBy.join(', '), a.seenIn]);
  return {
    id: 'repair',
    title: 'Repair rounds',
    body: `<p>${badge(p.result)}${esc(rounds)}${p.note ? ` <span class="muted">${esc(p.note)}</span>` : ''}</p>${
      p.added.length ? table(['added path', 'round', 'needed by', 'seen in'], rows) + `<p class="muted">Keep them without repair next time with --include.</p>` : ''
    }`,
  };
}

function harden(r: BuildReport): Section {
  const h = r.harden;
  if (!h) return { id: 'harden', title: 'Hardening', body: '<p class="muted">not asked for (--harden)</p>' };
  const rows = h.steps.map((s) => [s.step, raw(badge(s.result)), s.detail, raw(s.paths?.length ? list(s.paths.map((x) => raw(`<code>${esc(x)}</code>`)), { max: 8 }) : '')]);
  return {
    id: 'harden',
    title: 'Hardening',
    body: `${table(['step', 'result', 'detail', 'paths'], rows)}${facts([
      ['read-only root', raw(`${badge(h.readOnly.result)} ${h.readOnly.tmpfs.length ? `tmpfs ${esc(h.readOnly.tmpfs.join(', '))}` : ''}${h.readOnly.detail ? ` ${esc(h.readOnly.detail)}` : ''}`)],
      ['seccomp profile', h.seccompProfile ?? 'none'],
    ])}`,
  };
}

function rebuild(r: BuildReport): Section | undefined {
  if (!r.rebuild?.length) return undefined;
  const body = r.rebuild
    .map((b) => {
      const head = b.applied
        ? `<p>${badge('done')} ${esc(b.target)}: ${esc(formatBytes(b.removedBytes))} less</p>`
        : `<p>${badge('kept original')} ${esc(b.target)}: ${esc(b.reason ?? '')}</p>`;
      const files = b.files.length ? table(['file', 'before', 'after'], b.files.map((f) => [raw(`<code>${esc(f.path)}</code>`), formatBytes(f.before), formatBytes(f.after)])) : '';
      const checks = b.checks.length ? table(['check', 'result', 'detail'], b.checks.map((c) => [c.name, raw(badge(c.passed ? 'pass' : 'fail')), c.detail])) : '';
      return head + files + checks;
    })
    .join('');
  return { id: 'rebuild', title: 'Rebuilt files', body };
}

function timings(r: BuildReport): Section {
  const t = r.timings;
  const phases: [string, number | undefined][] = [['read', t.read], ['probe', t.probe], ['closure', t.closure], ['pack', t.pack], ['verify', t.verify], ['repair', t.repair], ['rebuild', t.rebuild], ['push', t.push]];
  const rows = phases.filter((p): p is [string, number] => p[1] !== undefined).map(([name, s]) => ({ label: name, parts: [{ value: s, cls: 'bar' }], note: seconds(s) }));
  return { id: 'timings', title: 'Timings', body: `<p>total ${esc(seconds(t.total))}</p>${barsSvg(rows, { label: 'seconds per phase', labelWidth: 120 })}` };
}

function closure(r: BuildReport): Section {
  const c = r.closure;
  const reasons = Object.entries(c.byReason).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const rows = reasons.map(([why, count]) => ({ label: why, parts: [{ value: count, cls: 'bar' }], note: `${count} (${pct(count, c.kept)})` }));
  const presets = Object.entries(c.presets).map(([k, v]) => `${k} ${v}`);
  return {
    id: 'closure',
    title: 'Why paths were kept',
    body: `<p>${c.kept} entries kept, counted by the first reason found for each.</p>${barsSvg(rows, { label: 'kept paths by reason', labelWidth: 160 })}${facts([
      ['--keep presets', presets.join(', ') || 'none'],
      ['packages kept whole', c.packages.join(', ') || 'none'],
      ['kept out by --exclude', c.excluded],
    ])}${c.warnings.length ? `<h3>Warnings</h3>${list(c.warnings, { max: 30 })}` : ''}`,
  };
}

function outputs(r: BuildReport): Section {
  const o = r.output;
  return {
    id: 'outputs',
    title: 'Outputs',
    body: `${facts([
      ['image ID', raw(`<code>${esc(o.id)}</code>`)],
      ['manifest digest', raw(`<code>${esc(o.digest)}</code>`)],
      ['probe', `${r.probe.backend}, ${r.probe.records} records on ${r.probe.distinctPaths} distinct paths; check: ${r.probe.check}`],
      ['SBOM', `${r.sbom.format}, ${r.sbom.packages} packages${r.sbom.file ? `, ${r.sbom.file}` : ''}`],
      ...r.budget.broken.map((b): [string, string] => ['over budget', b]),
    ])}${list([...o.written, ...(o.pushed ?? []).map((p) => `pushed ${p.ref}`)].map((w) => raw(`<code>${esc(w)}</code>`)))}`,
  };
}

/** The build report as one self-contained HTML page. */
export function renderBuildHtml(r: BuildReport): string {
  const name = r.output.ref ?? r.output.pushed?.[0]?.ref ?? r.output.id.slice(7, 19);
  const verdict = r.status === 'ok' ? 'built' : r.status === 'over-budget' ? 'built, over budget' : 'failed to verify';
  const lead = `<p>${badge(r.status)} ${esc(verdict)}: <code>${esc(name)}</code> from <code>${esc(r.input.ref)}</code></p>${facts([
    ['size', `${formatBytes(r.input.size)} → ${formatBytes(r.output.size)} (${r.reduction.sizeRatio.toFixed(1)}x smaller; layer ${formatBytes(r.output.layerSize)})`],
    ['files', `${r.input.files} → ${r.output.files} (${r.reduction.filesRatio.toFixed(1)}x fewer)`],
  ])}`;
  const maps = treemaps(r);
  return page({
    title: `slim build ${r.input.ref}`,
    lead,
    // The checks come right after the directory treemap: what a reader looks for first after the sizes.
    sections: [...maps.slice(0, 1), checks(r), repair(r), harden(r), ...[rebuild(r)].filter((x): x is Section => x !== undefined), timings(r), closure(r), ...maps.slice(1), outputs(r)],
  });
}
