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

/** The Podman service the Podman tests talk to: SLIM_TEST_PODMAN_SOCKET, else the rootful one setup.sh starts. */
export const PODMAN_SOCKET = process.env.SLIM_TEST_PODMAN_SOCKET ?? '/run/podman/podman.sock';

export const HOW_TO_START_PODMAN =
  'start it with `scripts/setup.sh` (installs podman, writes /etc/containers/containers.conf with runc and the ulimits, and runs ' +
  `\`podman system service --time=0 unix://${PODMAN_SOCKET}\`), run that command yourself, point SLIM_TEST_PODMAN_SOCKET at another service, ` +
  'or exclude integration tests explicitly with SLIM_SKIP_INTEGRATION=1';

/** The podman CLI on the tests' service (remote, so it is the engine slim talks to, rootful or rootless). */
export function podman(args: string[], opts: { input?: string | Buffer; timeout?: number } = {}): string {
  return execFileSync('podman', ['--remote', '--url', `unix://${PODMAN_SOCKET}`, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, timeout: opts.timeout ?? 600_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

/** The Podman tests fail, never skip, when the service does not answer: the message says how to start it. */
export function requirePodman(): void {
  try {
    podman(['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const why = (e.stderr?.trim() || e.message).split('\n').filter(Boolean).pop();
    throw new Error(`the Podman tests need a Podman service at unix://${PODMAN_SOCKET} and none answers (${why}): ${HOW_TO_START_PODMAN}`);
  }
}

/** What a run left in Podman: containers and volumes with its label, images under its run tag (slim-run/<run id>). */
export function podmanLeftovers(runId: string): { containers: string[]; volumes: string[]; runTags: string[] } {
  const lines = (s: string) => s.split('\n').filter(Boolean);
  return {
    containers: lines(podman(['ps', '-aq', '--filter', `label=io.slim.run=${runId}`])),
    volumes: lines(podman(['volume', 'ls', '-q', '--filter', `label=io.slim.run=${runId}`])),
    runTags: lines(podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).filter((t) => t.replace(/^localhost\//, '').startsWith(`slim-run/${runId}:`)),
  };
}
