import { SlimError, ExitCode } from '../errors.js';

/** A docker-style image name split into its parts: [registry/]repository[:tag][@digest]. */
export interface ImageName {
  repository: string; // includes the registry host when there is one
  tag?: string;
  digest?: string;
}

const nameRe = /^(?<repo>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+(?=\/))?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

export function parseImageName(ref: string): ImageName {
  const m = nameRe.exec(ref);
  if (!m?.groups?.repo) {
    throw new SlimError(`invalid image reference "${ref}"`, { code: 'BAD_REFERENCE', exitCode: ExitCode.usage, hint: 'use NAME[:TAG], e.g. myapp:1.4' });
  }
  const { repo, tag, digest } = m.groups;
  return { repository: repo, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The tag slim gives its output when --tag is not set: the input's repository, tag `<tag>-slim`. */
export function defaultOutputName(input: string): string {
  const { repository, tag } = parseImageName(input);
  return `${repository}:${tag ?? 'latest'}-slim`;
}

/**
 * The tag --keep-failed keeps a failed slim image under: its output name's, tag `<tag>-failed`
 * (cut to fit the 128 characters a tag may have), so it sits next to the image it would have been.
 */
export function failedName(output: string): { repository: string; tag: string } {
  const { repository, tag } = parseImageName(output);
  return { repository, tag: `${(tag ?? 'latest').slice(0, 128 - '-failed'.length)}-failed` };
}

export function formatImageName(n: ImageName): string {
  return n.repository + (n.tag ? `:${n.tag}` : '') + (n.digest ? `@${n.digest}` : '');
}
