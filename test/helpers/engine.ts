import { execFileSync } from 'node:child_process';

export const HOW_TO_START =
  'start one with `scripts/setup.sh` (installs docker.io and runs `dockerd --bridge=none --iptables=false --ip6tables=false`), ' +
  'point DOCKER_HOST at one, or exclude integration tests explicitly with SLIM_SKIP_INTEGRATION=1';

/** Integration tests fail, never skip, when there is no engine: the message says how to get one. */
export function requireEngine(): void {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 15_000 });
  } catch (err) {
    throw new Error(`integration tests need a Docker engine and none answers (${(err as Error).message.split('\n')[0]}): ${HOW_TO_START}`);
  }
}

export function docker(args: string[], opts: { input?: string | Buffer; timeout?: number; env?: Record<string, string> } = {}): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, timeout: opts.timeout ?? 600_000, ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
}

/** What carries slim's run label: containers and volumes. Tests assert it is empty after a run. */
export function leftovers(runId?: string): { containers: string[]; volumes: string[] } {
  const label = runId ? `label=io.slim.run=${runId}` : 'label=io.slim.run';
  const containers = docker(['ps', '-aq', '--filter', label]).split('\n').filter(Boolean);
  const volumes = docker(['volume', 'ls', '-q', '--filter', label]).split('\n').filter(Boolean);
  return { containers, volumes };
}

/** Remove the images a test file tagged; ones already gone are fine. */
export function removeImages(tags: readonly string[]): void {
  for (const t of tags) {
    try {
      docker(['rmi', t]);
    } catch {
      /* already gone */
    }
  }
}
