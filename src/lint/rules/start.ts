import { shippedStages } from '../dockerfile.js';
import { inStage } from './readings.js';
import type { Rule } from './rule.js';

export const shellFormStart: Rule = {
  id: 'SL019',
  name: 'shell-form-start',
  severity: 'warning',
  description: 'shell-form CMD/ENTRYPOINT: /bin/sh -c is PID 1 and does not forward SIGTERM to the app',
  fix: 'use the exec form: CMD ["app", "--flag"] (or start the shell form with exec)',
  hadolint: ['DL3025'],
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      stage.instructions
        .filter((i) => (i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT') && i.exec === null && i.words.length > 0 && i.words[0] !== 'exec')
        .map((i) => ({ line: i.line, stage: stage.label, message: `${i.keyword} in shell form in ${inStage(stage)}` })),
    ),
};

export const repeatedStart: Rule = {
  id: 'SL020',
  name: 'repeated-start',
  severity: 'warning',
  description: 'more than one CMD or ENTRYPOINT in a stage: only the last one counts',
  fix: 'keep only the last CMD/ENTRYPOINT of the stage',
  hadolint: ['DL4003', 'DL4004'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      (['CMD', 'ENTRYPOINT'] as const).flatMap((kw) => {
        const all = stage.instructions.filter((i) => i.keyword === kw);
        return all.slice(0, -1).map((i) => ({
          line: i.line,
          stage: stage.label,
          hadolint: kw === 'CMD' ? 'DL4003' : 'DL4004',
          message: `${kw} at line ${i.line} is overridden by the ${kw} at line ${all[all.length - 1]!.line} in ${inStage(stage)}`,
        }));
      }),
    ),
};
