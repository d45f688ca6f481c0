import type { ParsedDockerfile, Stage } from '../dockerfile.js';
import type { Hit, Rule } from './rule.js';

type Judged = { message: string; hadolint?: string } | null;

function baseHits(df: ParsedDockerfile, want: (s: Stage) => Judged): Hit[] {
  return df.stages.flatMap((stage) => {
    const b = stage.base;
    if (b.scratch || b.stage !== null || b.resolved === null || b.digest !== null) return [];
    const judged = want(stage);
    if (judged === null) return [];
    const via = b.viaArg !== null ? ` (the default of ARG ${b.viaArg})` : '';
    return [{ line: stage.line, stage: stage.label, message: `${judged.message}${via}`, ...(judged.hadolint ? { hadolint: judged.hadolint } : {}) }];
  });
}

export const baseUnpinned: Rule = {
  id: 'SL007',
  name: 'base-image-unpinned',
  severity: 'warning',
  description: 'base image without a tag, or :latest: the build changes under you',
  fix: 'pin a version tag and its digest: FROM image:1.2.3@sha256:…',
  hadolint: ['DL3006', 'DL3007'],
  check: (df) =>
    baseHits(df, (s) =>
      s.base.tag === null
        ? { message: `base image ${s.base.resolved} has no tag (means :latest)`, hadolint: 'DL3006' }
        : s.base.tag === 'latest'
          ? { message: `base image ${s.base.resolved} is :latest`, hadolint: 'DL3007' }
          : null,
    ),
};

export const baseTagOnly: Rule = {
  id: 'SL008',
  name: 'base-image-tag-only',
  severity: 'info',
  description: 'base image pinned by tag only: tags move',
  fix: 'add the digest: FROM image:tag@sha256:… (docker buildx imagetools inspect image:tag prints it)',
  check: (df) =>
    baseHits(df, (s) => (s.base.tag !== null && s.base.tag !== 'latest' ? { message: `base image ${s.base.resolved} is pinned by tag, not digest` } : null)),
};

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The registry a reference pulls from: its first part when that names a host, else Docker Hub. */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const host = /[.:]/.test(first) || first === 'localhost' ? first.toLowerCase() : 'docker.io';
  return DOCKER_HUB.has(host) ? 'docker.io' : host;
}

/** `*.gcr.io` trusts every host under gcr.io, as hadolint's trustedRegistries does. */
function trusts(entry: string, registry: string): boolean {
  const e = entry.toLowerCase();
  if (e.startsWith('*.')) return registry.endsWith(e.slice(1));
  return (DOCKER_HUB.has(e) ? 'docker.io' : e) === registry;
}

export const untrustedRegistry: Rule = {
  id: 'SL026',
  name: 'untrusted-registry',
  severity: 'error',
  description: 'FROM pulls from a registry that is not in trustedRegistries (.slim-lint.yaml)',
  fix: 'build on an image from a trusted registry, or add the registry to trustedRegistries',
  hadolint: ['DL3026'],
  check: (df, ctx) => {
    const trusted = ctx.trustedRegistries;
    if (trusted === undefined) return [];
    return df.stages.flatMap((stage) => {
      const b = stage.base;
      if (b.scratch || b.stage !== null || b.resolved === null) return [];
      const registry = registryOf(b.resolved);
      if (trusted.some((t) => trusts(t, registry))) return [];
      return [{ line: stage.line, stage: stage.label, message: `base image ${b.resolved} comes from ${registry}, which is not a trusted registry` }];
    });
  },
};
