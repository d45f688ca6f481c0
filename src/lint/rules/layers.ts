import { shippedStages, type Instruction } from '../dockerfile.js';
import { allCommands, unwrap } from '../shell.js';
import { absolute, copyOperands, nextWorkdir, packageCommands } from './readings.js';
import type { Hit, Rule } from './rule.js';

/** Paths a RUN creates that a later RUN might delete: package caches and explicit outputs. */
function pathsCreatedBy(run: Instruction, workdir: string): string[] {
  const out: string[] = [];
  for (const pc of packageCommands(run)) {
    if (pc.manager === 'apt') out.push('/var/lib/apt/lists', '/var/cache/apt');
    if (pc.manager === 'apk' && !pc.options.includes('--no-cache')) out.push('/var/cache/apk');
    if (pc.manager === 'pip') out.push('/root/.cache/pip');
    if (pc.manager === 'npm') out.push('/root/.npm');
    if (pc.manager === 'yum' || pc.manager === 'dnf') out.push(`/var/cache/${pc.manager}`);
  }
  for (const raw of allCommands(run)) {
    const argv = unwrap(raw);
    const args = argv.slice(1).filter((w) => !w.startsWith('-'));
    const optionValue = (...names: string[]) => argv.flatMap((w, i) => (names.includes(w) && argv[i + 1] ? [argv[i + 1]!] : []));
    switch (argv[0]) {
      case 'mkdir': case 'touch': out.push(...args); break;
      case 'cp': case 'mv': case 'ln': if (args.length > 1) out.push(args[args.length - 1]!); break;
      case 'curl': out.push(...optionValue('-o', '--output')); break;
      case 'wget': out.push(...optionValue('-O', '--output-document', '-P')); break;
      case 'git': if (args[0] === 'clone' && args.length > 2) out.push(args[args.length - 1]!); break;
      case 'tar': out.push(...optionValue('-C', '--directory')); break;
      case 'unzip': out.push(...optionValue('-d')); break;
    }
  }
  return out.filter((p) => !p.includes('$')).map((p) => absolute(p, workdir));
}

/** `rm -rf /var/lib/apt/lists/*` → /var/lib/apt/lists: the part before the first glob. */
function removedPaths(run: Instruction, workdir: string): { shown: string; path: string }[] {
  return allCommands(run)
    .map(unwrap)
    .filter((argv) => argv[0] === 'rm')
    .flatMap((argv) => argv.slice(1).filter((w) => !w.startsWith('-') && !w.includes('$')))
    .map((shown) => {
      const parts = absolute(shown, workdir).split('/');
      const glob = parts.findIndex((p) => /[*?[]/.test(p));
      return { shown, path: (glob >= 0 ? parts.slice(0, glob) : parts).join('/') || '/' };
    })
    .filter((r) => r.path !== '/');
}

const within = (path: string, dir: string) => path === dir || path.startsWith(dir + '/');
const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

export const deleteInLaterLayer: Rule = {
  id: 'SL015',
  name: 'delete-in-later-layer',
  severity: 'warning',
  description: 'a RUN deletes what an earlier layer added: the bytes stay in that layer',
  fix: 'delete in the same RUN that creates the files, or build in a separate stage and COPY --from only what is needed',
  check: (df) => {
    const hits: Hit[] = [];
    let created: { path: string; line: number }[] = [];
    let workdir = '/';
    for (const stage of shippedStages(df)) {
      for (const instr of stage.instructions) {
        workdir = nextWorkdir(instr, workdir);
        if (instr.keyword === 'RUN') {
          const removed = removedPaths(instr, workdir);
          for (const r of removed) {
            const origin = created.find((c) => overlaps(c.path, r.path));
            if (origin) hits.push({ line: instr.line, stage: stage.label, message: `RUN removes ${r.shown}, which line ${origin.line} added to an earlier layer` });
          }
          created.push(...pathsCreatedBy(instr, workdir).map((path) => ({ path, line: instr.line })));
          // What a RUN removes is gone from later layers' view, its own files included: a later RUN
          // that removes the same path again (each RUN cleaning its own apt lists) wastes nothing.
          created = created.filter((c) => !removed.some((r) => within(c.path, r.path)));
        } else if ((instr.keyword === 'COPY' || instr.keyword === 'ADD') && !copyOperands(instr).dest.includes('$')) {
          created.push({ path: absolute(copyOperands(instr).dest, workdir), line: instr.line });
        }
      }
    }
    // One finding per RUN is enough to act on.
    return hits.filter((h, i) => hits.findIndex((o) => o.line === h.line) === i);
  },
};
