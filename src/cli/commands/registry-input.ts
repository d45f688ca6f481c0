import { Option, type Command } from 'commander';
import { formatPlatform, hostPlatform, parsePlatform } from '../../registry/platform.js';
import type { RegistryInputOptions } from '../../registry/registry-source.js';
import { collect } from './run-options.js';

export interface RegistryInputFlags {
  platform?: string;
  insecureRegistry?: string[];
}

export function platformOption(): Option {
  return new Option('--platform <os/arch[/variant]>', `the image of a multi-platform input (registry:, oci:, oci-archive:) to read, e.g. linux/arm64 (default: this host's, ${formatPlatform(hostPlatform())}); an image of one platform (in the engine, too) must be that one`);
}

/** The flags of a command that reads `registry:` inputs and writes none (build has its own --insecure-registry, for outputs too). */
export function addRegistryInputOptions(cmd: Command): Command {
  return cmd.addOption(platformOption()).option('--insecure-registry <host>', 'speak plain HTTP to this registry host (loopback hosts always are) (repeatable)', collect, []);
}

/** Parsed before anything is read: a bad --platform is a usage error. */
export function registryInputOf(flags: RegistryInputFlags): RegistryInputOptions {
  return { insecure: flags.insecureRegistry ?? [], ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}) };
}
