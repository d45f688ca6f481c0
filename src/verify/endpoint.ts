import { UsageError } from '../errors.js';
import type { ContainerNetwork } from '../runtime/runtime.js';

/** Where the engine's published ports and host network are reached from here. */
export function engineHost(dockerHost = process.env.DOCKER_HOST): { host: string; local: boolean } {
  if (!dockerHost || /^(unix|npipe):/.test(dockerHost)) return { host: '127.0.0.1', local: true };
  try {
    const u = new URL(dockerHost);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return { host, local: ['localhost', '127.0.0.1', '::1'].includes(host) };
  } catch {
    return { host: '127.0.0.1', local: true };
  }
}

/**
 * Host and port at which this machine reaches a container port: a published port first (the only
 * way in from another machine), then the host network, then the container's own address when the
 * engine runs here.
 */
export function reachPort(net: ContainerNetwork, port: number, engine: { host: string; local: boolean }): { host: string; port: number } {
  const binding = (net.ports[`${port}/tcp`] ?? []).find((b) => b.hostPort !== '');
  if (binding) {
    const wildcard = binding.hostIp === '' || binding.hostIp === '0.0.0.0' || binding.hostIp === '::';
    return { host: wildcard ? engine.host : binding.hostIp, port: Number(binding.hostPort) };
  }
  if (net.mode === 'host') return { host: engine.host, port };
  if (net.ip && engine.local) return { host: net.ip, port };
  throw new UsageError(`cannot reach port ${port} of the container from here`, { hint: `publish it (-p ${port}) or run with --network host` });
}

/** The port an HTTP check talks to when none is given: the one published, else the image's first EXPOSE. */
export function defaultHttpPort(publish: readonly string[], exposed: readonly string[]): number | undefined {
  for (const spec of [...publish.map((p) => p.split(':').pop()!), ...exposed]) {
    const m = /^(\d+)(?:\/tcp)?$/.exec(spec);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** SLIM_HOST and SLIM_PORT_<port> (plus SLIM_PORT for the first) for a smoke command. */
export function portEnv(net: ContainerNetwork, ports: readonly number[], engine: { host: string; local: boolean }): Record<string, string> {
  const env: Record<string, string> = { SLIM_HOST: engine.host };
  for (const p of ports) {
    try {
      const r = reachPort(net, p, engine);
      env[`SLIM_PORT_${p}`] = String(r.port);
      env.SLIM_PORT ??= String(r.port);
      if (r.host !== engine.host) env[`SLIM_HOST_${p}`] = r.host;
    } catch {
      /* not reachable: the smoke command can still use what it knows */
    }
  }
  return env;
}
