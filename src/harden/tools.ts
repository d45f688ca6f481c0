import type { ImagePath } from '../rootfs/entry.js';
import type { FileIndex } from '../rootfs/file-index.js';
import type { ReasonKind, Selection } from '../closure/selection.js';

export type ToolKind = 'shell' | 'package manager' | 'compiler';

const BIN_DIRS = new Set(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);
const TOOLS: [ToolKind, RegExp][] = [
  ['shell', /^(?:sh|bash|dash|ash|zsh|ksh|mksh|csh|tcsh|fish|busybox)$/],
  ['package manager', /^(?:apt|apt-get|apt-cache|aptitude|dpkg|dpkg-deb|apk|yum|dnf|microdnf|rpm|zypper|pip3?(?:\.\d+)?|npm|npx|yarn|pnpm|gem|bundle)$/],
  ['compiler', /^(?:(?:[a-z0-9_]+-linux-gnu-)?(?:gcc|g\+\+|cc|c\+\+|cpp|as|ld|ld\.bfd|ld\.gold)(?:-\d+)?|clang(?:\+\+)?(?:-\d+)?|tcc|make|cmake|go|gofmt|rustc|cargo|javac)$/],
];

/** A shell, package manager or compiler: by name, in a bin directory. */
export function toolKind(path: ImagePath): ToolKind | undefined {
  const slash = path.lastIndexOf('/');
  if (!BIN_DIRS.has(path.slice(0, slash) || '/')) return undefined;
  const name = path.slice(slash + 1);
  return TOOLS.find(([, re]) => re.test(name))?.[0];
}

/** Reasons that say the app runs it (or the user asked for it by name). */
const USED: ReadonlySet<ReasonKind> = new Set(['traced', 'entrypoint', 'shebang', 'elf-interp', 'elf-needed', 'symlink', 'repair', 'include']);

export interface ToolVerdict {
  path: ImagePath;
  kind: ToolKind;
  why: string;
}

/**
 * Take out of the selection the shells, package managers and compilers the app does not use
 * (kept only by a preset or a whole package), and the symlinks that lead to them. Those it
 * uses stay, each with the reason.
 */
export function dropUnusedTools(index: FileIndex, selection: Selection): { removed: ToolVerdict[]; kept: ToolVerdict[] } {
  const removed: ToolVerdict[] = [];
  const kept: ToolVerdict[] = [];
  for (const path of selection.paths().sort()) {
    const kind = toolKind(path);
    if (!kind) continue;
    const reasons = selection.why(path);
    const used = reasons.find((r) => USED.has(r.why));
    if (used) {
      kept.push({ path, kind, why: `${used.why}${used.from ? ` from ${used.from}` : ''}` });
      continue;
    }
    selection.delete(path);
    removed.push({ path, kind, why: reasons.map((r) => `${r.why}${r.from ? ` (${r.from})` : ''}`).join(', ') });
  }
  if (removed.length) {
    const gone = new Map(removed.map((r) => [r.path, r.kind]));
    for (const p of selection.paths().sort()) {
      if (index.get(p)?.kind !== 'symlink') continue;
      const target = index.resolve(p).real;
      const kind = gone.get(target);
      if (!kind) continue;
      selection.delete(p);
      removed.push({ path: p, kind, why: `a link to ${target}` });
    }
  }
  return { removed: removed.sort((a, b) => (a.path < b.path ? -1 : 1)), kept };
}

/** Kept files with setuid or setgid bits. */
export function setidFiles(index: FileIndex, selection: Selection): ImagePath[] {
  return selection.paths().filter((p) => {
    const e = index.get(p);
    return e?.kind === 'file' && (e.meta.mode & 0o6000) !== 0;
  }).sort();
}
