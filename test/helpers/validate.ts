import { execFileSync } from 'node:child_process';

/** Clients we did not write read what slim wrote: skopeo and umoci (Debian packages). */
export function skopeoInspect(ref: string): { Digest: string; Layers: string[]; Labels: Record<string, string> | null; Architecture: string; Os: string } {
  return JSON.parse(execFileSync('skopeo', ['inspect', ref], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

export function skopeoRawManifest(ref: string): { config: { digest: string }; layers: { digest: string; mediaType: string }[]; annotations?: Record<string, string> } {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--raw', ref], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** `umoci unpack` into a bundle; returns the rootfs path. umoci checks every blob's digest as it goes. */
export function umociUnpack(layoutDir: string, tag: string, bundle: string): string {
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layoutDir}:${tag}`, bundle], { stdio: ['ignore', 'pipe', 'pipe'] });
  return `${bundle}/rootfs`;
}
