import { UsageError } from '../errors.js';

/** What an index entry's `platform` says an image runs on. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's names for CPUs, as the OCI spec (GOARCH) names them; ppc64 Node builds are little-endian. */
const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };

/**
 * The platform slim asks for by default: Linux on this machine's CPU, what `docker pull` picks on
 * a Linux host. Linux also elsewhere: the images an engine runs are Linux images.
 */
export function hostPlatform(arch: string = process.arch, armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version): Platform {
  const architecture = ARCH[arch] ?? arch;
  return { os: 'linux', architecture, ...(architecture === 'arm' && armVersion ? { variant: `v${String(armVersion)}` } : {}) };
}

/** `OS/ARCH[/VARIANT]`, as `docker --platform` takes it; the OS may be left out (`arm64` is `linux/arm64`). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  const word = /^[a-z0-9][a-z0-9._-]*$/;
  if (parts.length > 3 || !parts.every((p) => word.test(p))) {
    throw new UsageError(`--platform must be OS/ARCH[/VARIANT], e.g. linux/arm64 or linux/arm/v7, not "${s}"`);
  }
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]!] : parts;
  return { os: os!, architecture: ARCH[architecture!] ?? architecture!, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/**
 * The variant an image of this CPU has when its platform names none, as containerd normalises
 * them: arm64 is v8, 32-bit arm v7, amd64 v1. Then `linux/arm64` and `linux/arm64/v8` are one.
 */
function variantOf(p: Platform): string | undefined {
  const defaults: Record<string, string> = { arm64: 'v8', arm: 'v7', amd64: 'v1' };
  return p.variant || defaults[p.architecture];
}

export function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && variantOf(a) === variantOf(b);
}

/**
 * The first entry of an index for this platform. Entries without a platform (attestations,
 * artifacts) never match; the caller names the ones that could have.
 */
export function choosePlatform<T extends { platform?: Partial<Platform> }>(entries: readonly T[], want: Platform): T | undefined {
  return entries.find((e) => {
    const p = e?.platform;
    return typeof p?.os === 'string' && typeof p.architecture === 'string' && samePlatform({ os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) }, want);
  });
}

/** The platforms an index offers, for the message when none is the one asked for. */
export function offeredPlatforms(entries: readonly { platform?: Partial<Platform> }[]): string[] {
  const named = entries.flatMap((e) => (typeof e?.platform?.os === 'string' && typeof e.platform.architecture === 'string' && e.platform.os !== 'unknown' ? [formatPlatform(e.platform as Platform)] : []));
  return [...new Set(named)];
}
