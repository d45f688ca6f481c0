import { flagValue, type ParsedDockerfile } from '../dockerfile.js';
import { copyOperands, inStage, isUrl } from './readings.js';
import type { Rule } from './rule.js';

const adds = (df: ParsedDockerfile) => df.stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'ADD').map((instr) => ({ stage, instr })));

export const addRemote: Rule = {
  id: 'SL013',
  name: 'add-remote-without-checksum',
  severity: 'warning',
  description: 'ADD of a remote URL without a checksum: whatever the server returns goes into the image',
  fix: 'use ADD --checksum=sha256:… URL, or RUN curl -fsSL URL -o FILE && echo "SHA256  FILE" | sha256sum -c -',
  check: (df) =>
    adds(df)
      .filter(({ instr }) => flagValue(instr, 'checksum') == null && copyOperands(instr).sources.some(isUrl))
      .map(({ stage, instr }) => ({ line: instr.line, stage: stage.label, message: `ADD of a remote URL without --checksum in ${inStage(stage)}` })),
};

const ARCHIVE = /\.(tar|tar\.(gz|bz2|xz|zst)|tgz|tbz2?|txz|tzst)$/i;

export const addForCopy: Rule = {
  id: 'SL014',
  name: 'add-instead-of-copy',
  severity: 'info',
  description: 'ADD where COPY suffices: ADD also unpacks archives and fetches URLs, COPY says what happens',
  fix: 'use COPY',
  hadolint: ['DL3020'],
  check: (df) =>
    adds(df)
      .filter(({ instr }) => copyOperands(instr).sources.every((s) => !isUrl(s) && !ARCHIVE.test(s)))
      .map(({ stage, instr }) => ({ line: instr.line, stage: stage.label, message: `ADD of local files that are not archives in ${inStage(stage)}` })),
};
