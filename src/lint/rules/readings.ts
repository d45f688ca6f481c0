/** Readings of the Dockerfile model that several rules share. */
import { flagValue, type Instruction, type Stage } from '../dockerfile.js';
import { isManifestSource, packageCommand, type PackageCommand } from '../packages.js';
import { allCommands } from '../shell.js';

export const runs = (stage: Stage): Instruction[] => stage.instructions.filter((i) => i.keyword === 'RUN');

export function packageCommands(instr: Instruction): PackageCommand[] {
  return allCommands(instr).flatMap((argv) => packageCommand(argv) ?? []);
}

/** A cache mount keeps the package cache out of the layer, so cleaning it is moot. */
export function hasCacheMount(instr: Instruction): boolean {
  return instr.flags.some((f) => f.name === 'mount' && /(^|,)type=cache(,|$)/.test(f.value ?? ''));
}

/** COPY/ADD sources and destination, from either form; heredoc sources are not context files. */
export function copyOperands(instr: Instruction): { sources: string[]; dest: string } {
  const words = instr.exec ?? instr.words;
  const heredocs = new Set(instr.heredocs.map((h) => h.name));
  const sources = words.slice(0, -1).filter((w) => !/^<<-?/.test(w) || !heredocs.has(w.replace(/^<<-?["']?|["']?$/g, '')));
  return { sources, dest: words[words.length - 1] ?? '' };
}

/** A COPY of the whole build context (`COPY . .`, `COPY ./ /app`, `ADD * /src/`). */
export function isBroadCopy(instr: Instruction): boolean {
  if ((instr.keyword !== 'COPY' && instr.keyword !== 'ADD') || flagValue(instr, 'from') !== undefined) return false;
  return copyOperands(instr).sources.some((s) => ['.', './', '*', './*', '/'].includes(s));
}

export function isManifestCopy(instr: Instruction): boolean {
  if (instr.keyword !== 'COPY' || flagValue(instr, 'from') !== undefined) return false;
  return copyOperands(instr).sources.some(isManifestSource);
}

export function inStage(stage: Stage): string {
  return stage.name !== null ? `stage "${stage.name}"` : `stage ${stage.index}`;
}

export function isUrl(s: string): boolean {
  return /^(https?|git):\/\//i.test(s) || /^git@/.test(s);
}

export function absolute(path: string, workdir: string): string {
  const joined = path.startsWith('/') ? path : `${workdir.replace(/\/$/, '')}/${path}`;
  const out: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export function nextWorkdir(instr: Instruction, workdir: string): string {
  const path = instr.words[0];
  return instr.keyword === 'WORKDIR' && path !== undefined && !path.includes('$') ? absolute(path, workdir) : workdir;
}
