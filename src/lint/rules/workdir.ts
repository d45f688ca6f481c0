import { runCommands } from '../shell.js';
import { inStage, runs } from './readings.js';
import type { Rule } from './rule.js';

export const relativeWorkdir: Rule = {
  id: 'SL016',
  name: 'relative-workdir',
  severity: 'warning',
  description: 'WORKDIR with a relative path depends on every WORKDIR before it',
  fix: 'use an absolute path: WORKDIR /app',
  hadolint: ['DL3000'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'WORKDIR' && i.words[0] !== undefined && !/^([/$]|[A-Za-z]:[\\/])/.test(i.words[0]))
        .map((i) => ({ line: i.line, stage: stage.label, message: `WORKDIR ${i.words[0]} is relative (${inStage(stage)})` })),
    ),
};

// A heredoc RUN is a script, where cd is ordinary; only a cd on the RUN line itself stands in for WORKDIR.
export const cdInRun: Rule = {
  id: 'SL017',
  name: 'cd-in-run',
  severity: 'info',
  description: 'cd in RUN instead of WORKDIR',
  fix: 'set the directory with WORKDIR /path',
  hadolint: ['DL3003'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      runs(stage)
        .filter((run) => runCommands(run).line.some((argv) => argv[0] === 'cd'))
        .map((run) => ({ line: run.line, stage: stage.label, message: `cd in RUN in ${inStage(stage)}` })),
    ),
};
