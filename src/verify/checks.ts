import { UsageError } from '../errors.js';
import { defaultHttpPort } from './endpoint.js';
import type { HttpRequestSpec } from './http-spec.js';

/** One check run against a running service, retried until it passes or the time runs out. */
export type ServiceCheck =
  | { kind: 'smoke'; name: string; command: string }
  | { kind: 'http'; name: string; request: HttpRequestSpec }
  | { kind: 'exec'; name: string; argv: string[] };

/**
 * How a container is exercised: a service stays up while its checks run; a job runs to its end
 * and is judged by its exit code, stdout and the files it leaves at `compareOutputs` (which must
 * exist) and at `mountOutputs` (its writable mounts and volumes, compared the same way).
 */
export type Check =
  | { kind: 'service'; checks: ServiceCheck[]; timeoutSeconds: number; httpPort?: number }
  | { kind: 'job'; compareOutputs: string[]; mountOutputs?: string[] };

/** Every path a job's files are compared at: --compare-output's, then its mounts' and volumes'. */
export function outputPaths(check: Check & { kind: 'job' }): string[] {
  return [...new Set([...check.compareOutputs, ...(check.mountOutputs ?? [])])];
}

/** A job's check with its output mounts and volumes (see jobOutputPaths) to compare; a service's as it is. */
export function withMountOutputs(check: Check, paths: readonly string[]): Check {
  if (check.kind !== 'job') return check;
  const mountOutputs = paths.filter((p) => !check.compareOutputs.includes(p));
  return mountOutputs.length ? { ...check, mountOutputs } : check;
}

export function describeCheck(check: Check): string {
  if (check.kind === 'job') {
    const paths = outputPaths(check);
    return `job: until it exits${paths.length ? `, then compare ${paths.join(', ')}` : ''}`;
  }
  return `${check.checks.map((c) => c.name).join('; ')}, up to ${check.timeoutSeconds}s`;
}

/**
 * Fill in the HTTP checks' port (published, else the image's first EXPOSE) and list the ports a
 * smoke command hears about. A usage error when an HTTP check has no port to talk to.
 */
export function withPorts(check: Check, exposed: readonly string[], publish: readonly string[]): { check: Check; ports: number[] } {
  const fromPublish = publish.map((p) => p.split(':').pop()!.replace(/\/tcp$/, ''));
  const ports = [...new Set([...fromPublish, ...exposed.map((e) => e.replace(/\/tcp$/, ''))].filter((p) => /^\d+$/.test(p)).map(Number))];
  if (check.kind !== 'service') return { check, ports };
  const needsPort = check.checks.some((c) => c.kind === 'http' && c.request.port === undefined);
  if (!needsPort || check.httpPort !== undefined) return { check, ports: check.httpPort !== undefined ? [check.httpPort, ...ports.filter((p) => p !== check.httpPort)] : ports };
  const port = defaultHttpPort(publish, exposed);
  if (port === undefined) {
    throw new UsageError('an HTTP check needs a port: the image exposes none and none is published', { hint: 'give --http-port PORT (or -p, or a port in the spec file)' });
  }
  return { check: { ...check, httpPort: port }, ports };
}

/** One check as it went on both images. */
export interface CheckComparison {
  name: string;
  original: 'pass' | 'fail';
  /** not-run: an earlier failure left no chance to run it. */
  slim: 'pass' | 'fail' | 'not-run';
  detail: string;
}

export interface Verdict {
  passed: boolean;
  summary: string;
  checks: CheckComparison[];
  /**
   * When the slim image failed: the last lines each container printed (stdout and stderr as they
   * came) in the run of these checks, the slim image's next to the original's, to tell why.
   */
  output?: { slim: string[]; original: string[] };
}
