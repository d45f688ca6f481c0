import type Docker from 'dockerode';
import { parsePublish } from './publish.js';
import type { RunSpec } from './runtime.js';

export function toCreateOptions(spec: RunSpec): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.publish ?? []) {
    const b = parsePublish(p);
    exposed[b.containerPort] = {};
    (bindings[b.containerPort] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
  }
  return {
    Image: spec.image,
    ...(spec.entrypoint !== undefined ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd !== undefined ? { Cmd: spec.cmd } : {}),
    ...(spec.env ? { Env: spec.env } : {}),
    ...(spec.user !== undefined ? { User: spec.user } : {}),
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.stopTimeout !== undefined ? { StopTimeout: spec.stopTimeout } : {}),
    ...(spec.interactive ? { Tty: spec.interactive.tty, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true } : {}),
    ExposedPorts: exposed,
    Labels: spec.labels,
    HostConfig: {
      ...(spec.network ? { NetworkMode: spec.network } : {}),
      ...(spec.pid ? { PidMode: spec.pid } : {}),
      Binds: spec.binds ?? [],
      Mounts: (spec.volumes ?? []).map((v) => ({ Type: 'volume' as const, Source: v.source, Target: v.target, ReadOnly: v.readOnly })),
      ExtraHosts: spec.extraHosts ?? [],
      PortBindings: bindings,
      CapAdd: spec.capAdd ?? [],
      ReadonlyRootfs: spec.readOnly ?? false,
      ...(spec.tmpfs ? { Tmpfs: spec.tmpfs } : {}),
      ...(spec.securityOpt ? { SecurityOpt: spec.securityOpt } : {}),
    },
  };
}
