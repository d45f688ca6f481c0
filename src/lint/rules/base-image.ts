import type { ParsedDockerfile, Stage } from '../dockerfile.js';
import type { Hit, Rule } from './rule.js';

function baseHits(df: ParsedDockerfile, want: (s: Stage) => string | null): Hit[] {
  return df.stages.flatMap((stage) => {
    const b = stage.base;
    if (b.scratch || b.stage !== null || b.resolved === null || b.digest !== null) return [];
    const message = want(stage);
    if (message === null) return [];
    const via = b.viaArg !== null ? ` (the default of ARG ${b.viaArg})` : '';
    return [{ line: stage.line, stage: stage.label, message: `${message}${via}` }];
  });
}

export const baseUnpinned: Rule = {
  id: 'SL007',
  severity: 'warning',
  description: 'base image without a tag, or :latest: the build changes under you',
  fix: 'pin a version tag and its digest: FROM image:1.2.3@sha256:…',
  check: (df) =>
    baseHits(df, (s) =>
      s.base.tag === null ? `base image ${s.base.resolved} has no tag (means :latest)` : s.base.tag === 'latest' ? `base image ${s.base.resolved} is :latest` : null,
    ),
};

export const baseTagOnly: Rule = {
  id: 'SL008',
  severity: 'info',
  description: 'base image pinned by tag only: tags move',
  fix: 'add the digest: FROM image:tag@sha256:… (docker buildx imagetools inspect image:tag prints it)',
  check: (df) =>
    baseHits(df, (s) => (s.base.tag !== null && s.base.tag !== 'latest' ? `base image ${s.base.resolved} is pinned by tag, not digest` : null)),
};
