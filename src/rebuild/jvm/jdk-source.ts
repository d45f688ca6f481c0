import type { PackageDatabase } from '../../packages/types.js';
import type { JavaHome } from './java-home.js';
import { debianBase, helperImage, ownerOf, type HelperImage } from '../helper-image.js';

/**
 * Where `jlink` gets the JDK's `jmods` for an image's Java: the image's own, or a helper image
 * with the JDK packages of exactly the version the image's package database records. The helper's
 * `lib/modules` and `libjvm.so` must then equal the image's by sha256 before it is used (the
 * build identity is what class sharing and the runtime image are tied to).
 */
export type JdkSource =
  | { kind: 'image'; jmods: string }
  | ({ kind: 'helper' } & HelperImage)
  | { kind: 'none'; reason: string };

// openjdk-17-jre-headless, openjdk-21-jdk-headless, openjdk-17-jre
const OPENJDK = /^openjdk-(\d+)-(?:jre|jdk)(?:-headless)?$/;

export function jdkSourceFor(home: JavaHome, db: PackageDatabase): JdkSource {
  if (home.jmods) return { kind: 'image', jmods: home.jmods };
  const owner = ownerOf(db, home.modules);
  if ('reason' in owner) return { kind: 'none', reason: `${owner.reason}, and the image has no jmods` };
  const feature = OPENJDK.exec(owner.name)?.[1];
  if (!feature) return { kind: 'none', reason: `${home.modules} comes from ${owner.name}, not a Debian OpenJDK package slim knows the jmods of` };
  const debian = debianBase(db);
  if ('reason' in debian) return { kind: 'none', reason: debian.reason };
  // Bookworm and earlier ship the jmods in the JDK package; trixie split them into their own.
  const jmods = debian.codename === 'trixie' ? [`openjdk-${feature}-jmods=${owner.version}`] : [];
  return { kind: 'helper', ...helperImage(debian.base, [`openjdk-${feature}-jdk-headless=${owner.version}`, ...jmods], 'jdk') };
}

/** Both files the same by sha256, or why not: a helper of another build would make a runtime image this JVM cannot use. */
export function sameBuild(image: Record<'modules' | 'libjvm', string>, helper: Record<'modules' | 'libjvm', string>): { same: true } | { same: false; reason: string } {
  const differ = (['modules', 'libjvm'] as const).filter((k) => image[k] !== helper[k]);
  if (differ.length === 0) return { same: true };
  return { same: false, reason: `the helper JDK is another build: ${differ.map((k) => (k === 'modules' ? 'lib/modules' : 'libjvm.so')).join(' and ')} differ by sha256` };
}
