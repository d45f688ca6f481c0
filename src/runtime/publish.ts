import { UsageError } from '../errors.js';

export interface PortBinding {
  containerPort: string; // "80/tcp"
  hostIp: string;
  hostPort: string;
}

/** Parse a `docker run -p` spec: [[ip:]hostPort:]containerPort[/proto]. */
export function parsePublish(spec: string): PortBinding {
  const m = /^(?:(?:(?<ip>\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?<host>\d*):)?(?<ctr>\d+)(?:\/(?<proto>tcp|udp|sctp))?$/.exec(spec);
  if (!m?.groups?.ctr) throw new UsageError(`invalid --publish "${spec}"`, { hint: 'use [IP:][HOSTPORT:]PORT[/tcp|udp]' });
  const { ip, host, ctr, proto } = m.groups;
  const inRange = (n: string, min: number) => Number(n) >= min && Number(n) <= 65535;
  if (!inRange(ctr, 1) || (host && !inRange(host, 0))) throw new UsageError(`invalid --publish "${spec}": ports are 1 to 65535`);
  return { containerPort: `${ctr}/${proto ?? 'tcp'}`, hostIp: (ip ?? '').replace(/^\[|\]$/g, ''), hostPort: host ?? '' };
}
