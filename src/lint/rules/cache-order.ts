import type { Instruction, ParsedDockerfile, Stage } from '../dockerfile.js';
import { isDependencyInstall } from '../packages.js';
import { inStage, isBroadCopy, isManifestCopy, packageCommands } from './readings.js';
import type { Rule } from './rule.js';

/** Both cache-order rules: an install RUN that follows a COPY of the whole context. */
function installsAfterBroadCopy(df: ParsedDockerfile): { stage: Stage; copy: Instruction; install: Instruction; manifestsFirst: boolean }[] {
  const out: { stage: Stage; copy: Instruction; install: Instruction; manifestsFirst: boolean }[] = [];
  for (const stage of df.stages) {
    let broad: Instruction | null = null;
    let manifestsFirst = false;
    for (const instr of stage.instructions) {
      if (broad === null && isBroadCopy(instr)) broad = instr;
      else if (broad === null && isManifestCopy(instr)) manifestsFirst = true;
      else if (broad !== null && instr.keyword === 'RUN' && packageCommands(instr).some(isDependencyInstall)) {
        out.push({ stage, copy: broad, install: instr, manifestsFirst });
      }
    }
  }
  return out;
}

export const manifestsNotFirst: Rule = {
  id: 'SL001',
  name: 'install-after-broad-copy',
  severity: 'warning',
  description: 'dependencies are installed after the whole context is copied, with no manifest-only COPY before it',
  fix: 'COPY only the manifests (package.json and its lock file, requirements.txt, go.mod/go.sum…), RUN the install, then COPY the source',
  check: (df) =>
    installsAfterBroadCopy(df)
      .filter((x) => !x.manifestsFirst)
      .map(({ stage, copy, install }) => ({
        line: install.line,
        stage: stage.label,
        message: `dependency install in ${inStage(stage)} runs after line ${copy.line} copied the whole context: any source change re-runs it`,
      })),
};

export const broadCopyBeforeInstall: Rule = {
  id: 'SL002',
  name: 'broad-copy-before-install',
  severity: 'warning',
  description: 'the whole context is copied before the dependency install, although the manifests were copied on their own',
  fix: 'move this COPY after the dependency install RUN',
  check: (df) => {
    const seen = new Set<Instruction>();
    return installsAfterBroadCopy(df)
      .filter((x) => x.manifestsFirst && !seen.has(x.copy) && seen.add(x.copy))
      .map(({ stage, copy, install }) => ({
        line: copy.line,
        stage: stage.label,
        message: `COPY of the whole context in ${inStage(stage)} comes before the dependency install at line ${install.line}: any source change invalidates it`,
      }));
  },
};
