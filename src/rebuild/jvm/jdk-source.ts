import { createHash } from 'node:crypto';
import type { PackageDatabase } from '../../packages/types.js';
import type { JavaHome } from './java-home.js';

/**
 * Where `jlink` gets the JDK's `jmods` for an image's Java: the image's own, or a helper image
 * with the JDK packages of exactly the version the image's package database records. The helper's
 * `lib/modules` and `libjvm.so` must then equal the image's by sha256 before it is used (the
 * build identity is what class sharing and the runtime image are tied to).
 */
export type JdkSource =
  | { kind: 'image'; jmods: string }
  | { kind: 'helper'; base: string; packages: string[]; dockerfile: string; tag: string }
  | { kind: 'none'; reason: string };

const DEBIAN_CODENAMES: Record<string, string> = { '11': 'bullseye', '12': 'bookworm', '13': 'trixie' };

// openjdk-17-jre-headless, openjdk-21-jdk-headless, openjdk-17-jre
const OPENJDK = /^openjdk-(\d+)-(?:jre|jdk)(?:-headless)?$/;

export function jdkSourceFor(home: JavaHome, db: PackageDatabase): JdkSource {
  if (home.jmods) return { kind: 'image', jmods: home.jmods };
  const owner = [...db.files].find(([, paths]) => paths.includes(home.modules))?.[0];
  if (!owner) return { kind: 'none', reason: `${home.modules} belongs to no package the image's database lists, and the image has no jmods` };
  const feature = OPENJDK.exec(owner)?.[1];
  if (!feature) return { kind: 'none', reason: `${home.modules} comes from ${owner}, not a Debian OpenJDK package slim knows the jmods of` };
  const installed = db.packages.find((p) => p.manager === 'dpkg' && p.name === owner);
  if (!installed) return { kind: 'none', reason: `${owner} is not installed according to the image's package database` };
  const codename = db.os?.id === 'debian' && db.os.versionId ? DEBIAN_CODENAMES[db.os.versionId] : undefined;
  if (!codename) return { kind: 'none', reason: `no helper base for ${db.os?.id ?? 'an unknown distribution'} ${db.os?.versionId ?? ''}`.trim() };
  const base = `debian:${codename}`;
  // Bookworm and earlier ship the jmods in the JDK package; trixie split them into their own.
  const jmods = codename === 'trixie' ? [`openjdk-${feature}-jmods=${installed.version}`] : [];
  const packages = [`openjdk-${feature}-jdk-headless=${installed.version}`, ...jmods];
  const dockerfile = helperDockerfile(base, packages);
  return { kind: 'helper', base, packages, dockerfile, tag: `slim-jdk-helper:${createHash('sha256').update(dockerfile).digest('hex').slice(0, 16)}` };
}

/** The helper image: the JDK of the image's exact version, with its jmods; tagged by a hash of this text. */
export function helperDockerfile(base: string, packages: readonly string[]): string {
  return [
    `FROM ${base}`,
    'RUN apt-get update \\',
    ` && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')} \\`,
    ' && rm -rf /var/lib/apt/lists/*',
    'LABEL io.slim.helper=jdk',
    '',
  ].join('\n');
}

/** Both files the same by sha256, or why not: a helper of another build would make a runtime image this JVM cannot use. */
export function sameBuild(image: Record<'modules' | 'libjvm', string>, helper: Record<'modules' | 'libjvm', string>): { same: true } | { same: false; reason: string } {
  const differ = (['modules', 'libjvm'] as const).filter((k) => image[k] !== helper[k]);
  if (differ.length === 0) return { same: true };
  return { same: false, reason: `the helper JDK is another build: ${differ.map((k) => (k === 'modules' ? 'lib/modules' : 'libjvm.so')).join(' and ')} differ by sha256` };
}
