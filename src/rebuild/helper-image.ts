import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { PackageDatabase } from '../packages/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { FileIndex } from '../rootfs/file-index.js';
import { contentSha256, type ContentReader } from '../sources/content-spool.js';

/** A helper image to build through the engine: a Debian base and packages of exact versions. */
export interface HelperImage {
  base: string;
  packages: string[];
  dockerfile: string;
  tag: string;
}

const DEBIAN_CODENAMES: Record<string, string> = { '11': 'bullseye', '12': 'bookworm', '13': 'trixie' };

/** The Debian base of the image's own release (`debian:bookworm`), or why there is none. */
export function debianBase(db: PackageDatabase): { base: string; codename: string } | { reason: string } {
  const codename = db.os?.id === 'debian' && db.os.versionId ? DEBIAN_CODENAMES[db.os.versionId] : undefined;
  if (!codename) return { reason: `no helper base for ${db.os?.id ?? 'an unknown distribution'} ${db.os?.versionId ?? ''}`.trim() };
  return { base: `debian:${codename}`, codename };
}

/** The installed package that lists `path`, with its version; or why there is none. */
export function ownerOf(db: PackageDatabase, path: string): { name: string; version: string } | { reason: string } {
  const owner = [...db.files].find(([, paths]) => paths.includes(path))?.[0];
  if (!owner) return { reason: `${path} belongs to no package the image's database lists` };
  const installed = db.packages.find((p) => p.manager === 'dpkg' && p.name === owner);
  if (!installed) return { reason: `${owner} is not installed according to the image's package database` };
  return { name: owner, version: installed.version };
}

export function helperImage(base: string, packages: string[], kind: 'jdk' | 'icu'): HelperImage {
  const dockerfile = helperDockerfile(base, packages, kind);
  return { base, packages, dockerfile, tag: `slim-${kind}-helper:${createHash('sha256').update(dockerfile).digest('hex').slice(0, 16)}` };
}

/** A helper image: the tools of the image's exact package versions; tagged by a hash of this text. */
export function helperDockerfile(base: string, packages: readonly string[], kind: 'jdk' | 'icu'): string {
  return [
    `FROM ${base}`,
    'RUN apt-get update \\',
    ` && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')} \\`,
    ' && rm -rf /var/lib/apt/lists/*',
    `LABEL io.slim.helper=${kind}`,
    '',
  ].join('\n');
}

/** Built once per version, through the engine (as the probe image is); says whether this run built it. */
export async function ensureHelperImage(runtime: Runtime, helper: HelperImage, log: Logger, signal: AbortSignal, tmp: string): Promise<{ built: boolean }> {
  if (await runtime.inspectImage(helper.tag)) return { built: false };
  const dir = await mkdtemp(join(tmp, 'helper-'));
  await writeFile(join(dir, 'Dockerfile'), helper.dockerfile);
  log.step(`building the helper image ${helper.tag} from ${helper.base} with ${helper.packages.join(' ')} (once per version)`);
  await runtime.buildImage(dir, helper.tag, {}, signal);
  return { built: true };
}

/** The sha256 of the file a path resolves to in the image, to hold a helper's copy against; "missing" when it is not a file. */
export async function imageSha256(index: FileIndex, content: ContentReader, path: string): Promise<string> {
  const e = index.get(index.resolve(path).real);
  return e?.kind === 'file' ? contentSha256(content, e) : 'missing';
}
