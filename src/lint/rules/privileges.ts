import { shippedStages, type Stage } from '../dockerfile.js';
import { allCommands } from '../shell.js';
import { inStage, runs } from './readings.js';
import type { Rule, Severity } from './rule.js';

export const rootUser: Rule = {
  id: 'SL006',
  name: 'runs-as-root',
  severity: 'warning',
  description: 'the final image runs as root',
  fix: 'create a user (or use a numeric uid such as 65532) and end the final stage with USER <name|uid>',
  hadolint: ['DL3002'],
  check: (df) => {
    const chain = shippedStages(df);
    const final = chain[chain.length - 1];
    if (!final) return [];
    const users = chain.flatMap((s) => s.instructions.filter((i) => i.keyword === 'USER'));
    const last = users[users.length - 1];
    if (!last) {
      // Distroless `:nonroot` images set a non-root USER in their config.
      if (chain.some((s) => /nonroot/.test(s.base.resolved ?? ''))) return [];
      return [{ line: final.line, stage: final.label, hadolint: null, message: `no USER in ${inStage(final)}, the final one: the container runs as root` }];
    }
    const user = (last.words[0] ?? '').split(':')[0];
    return user === 'root' || user === '0'
      ? [{ line: last.line, stage: final.label, message: `${inStage(final)}, the final one, ends with USER ${last.words[0]}: the container runs as root` }]
      : [];
  },
};

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIALS/i;
// A name for where the secret lives is not the secret (`PASSWORD_FILE` is the Docker-secrets convention).
const SECRET_REFERENCE = /_(FILE|PATH|DIR|URL)$/i;

export const secretsInBuildArgs: Rule = {
  id: 'SL012',
  name: 'secret-in-arg-or-env',
  severity: 'error',
  description: 'a secret passed as ARG or ENV: ENV stays in the image config, ARG in its build history',
  fix: 'pass it with RUN --mount=type=secret,id=NAME (docker build --secret id=NAME,…) and read /run/secrets/NAME',
  check: (df) => {
    const where = [{ stage: null as Stage | null, instrs: df.globalArgs }, ...df.stages.map((s) => ({ stage: s as Stage | null, instrs: s.instructions }))];
    return where.flatMap(({ stage, instrs }) =>
      instrs
        .filter((i) => i.keyword === 'ARG' || i.keyword === 'ENV')
        .flatMap((i) =>
          i.properties
            .filter((p) => SECRET_NAME.test(p.name) && !SECRET_REFERENCE.test(p.name))
            .map((p) => ({
              line: p.line,
              stage: stage?.label ?? null,
              severity: (i.keyword === 'ENV' ? 'error' : 'warning') as Severity,
              message: `${i.keyword} ${p.name} ${i.keyword === 'ENV' ? 'stores a secret in the image config' : 'records a secret in the build history'}${stage ? ` (${inStage(stage)})` : ''}`,
            })),
        ),
    );
  },
};

export const sudoInRun: Rule = {
  id: 'SL018',
  name: 'sudo-in-run',
  severity: 'warning',
  description: 'sudo in RUN: the build already runs as root until USER, and sudo left in the image is an escalation path',
  fix: 'drop sudo; switch with USER root … USER app around the step that needs root',
  hadolint: ['DL3004'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      runs(stage)
        .filter((run) => allCommands(run).some((argv) => argv[0] === 'sudo'))
        .map((run) => ({ line: run.line, stage: stage.label, message: `sudo in RUN in ${inStage(stage)}` })),
    ),
};
