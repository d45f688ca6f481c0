import { inStage } from './readings.js';
import type { Rule } from './rule.js';

export const maintainer: Rule = {
  id: 'SL024',
  name: 'maintainer-deprecated',
  severity: 'info',
  description: 'MAINTAINER is deprecated: tools read the author from a label',
  fix: 'use LABEL org.opencontainers.image.authors="name <email>"',
  hadolint: ['DL4000'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'MAINTAINER')
        .map((i) => ({ line: i.line, stage: stage.label, message: `MAINTAINER in ${inStage(stage)}` })),
    ),
};

const PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i;

/** `80`, `80/udp`, `8000-8010/tcp`; a word with a variable is left to the build. */
export function isExposeSpec(word: string): boolean {
  if (word.includes('$')) return true;
  const m = PORT.exec(word);
  if (!m) return false;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from <= 65535 && to <= 65535 && from <= to;
}

export const badExpose: Rule = {
  id: 'SL025',
  name: 'expose-not-a-port',
  severity: 'error',
  description: 'EXPOSE of something that is not a port or port range (0-65535, optionally /tcp, /udp or /sctp)',
  fix: 'EXPOSE the container port, e.g. EXPOSE 8080 or EXPOSE 8000-8010/tcp; host ports are chosen at run time (-p)',
  hadolint: ['DL3011'],
  check: (df) =>
    df.stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'EXPOSE')
        .flatMap((i) =>
          i.words
            .filter((w) => !isExposeSpec(w))
            .map((w) => ({ line: i.line, stage: stage.label, message: `EXPOSE ${w} is not a port or port range (${inStage(stage)})` })),
        ),
    ),
};
