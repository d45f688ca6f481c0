import { SlimError } from '../errors.js';
import type { AttachIo, AttachedContainer, ContainerInfo, RunningContainer } from '../runtime/runtime.js';
import { labelsFor } from '../runtime/run-settings.js';
import { lastLines } from '../verify/last-lines.js';
import { sleep } from '../verify/smoke.js';
import type { BuildDeps } from './build-types.js';

/** How long a started image must stay up to count as running. */
const SETTLE_MS = 500;
const NOT_RUNNING_HINT = 'give --cmd (or --entrypoint) that keeps it running, e.g. the service it is built for';

export interface DebugOptions {
  /** A running container (name or ID), else an image to start. */
  target: string;
  /** The image the shell comes from: it needs /bin/sh. */
  helper: string;
  /** A command to run instead of the interactive shell. */
  args: string[];
  /** How an IMAGE target runs; a container is taken as it is. */
  run: { entrypoint?: string[]; cmd?: string[]; env: string[]; network?: string; user?: string };
}

/**
 * The helper's entrypoint: into the target's root (its files, through the shared PID namespace),
 * then the command, or the best shell the helper has. Said when the root cannot be entered, so
 * that a user is not left looking at the helper's own files without knowing.
 */
const ENTER = [
  'cd /proc/1/root 2>/dev/null || echo "slim debug: cannot enter /proc/1/root; the target\'s files are not reachable from here" >&2',
  'if [ "$#" -gt 0 ]; then exec "$@"; fi',
  'if command -v bash >/dev/null 2>&1; then exec bash; fi',
  'exec sh',
].join('\n');

/**
 * A shell (or `args`) in a helper container that shares the target's PID and network namespaces:
 * the target's processes are its processes, the target's files are at /proc/1/root, its ports on
 * localhost. An IMAGE target is started first, as a labelled container; both go when it ends.
 * Returns the helper's exit code.
 */
export async function debugSession(opts: DebugOptions, io: AttachIo, deps: BuildDeps, attached?: (shell: AttachedContainer) => void): Promise<number> {
  const { runtime, scope, log } = deps;
  // The helper first: a missing one is found before anything is started.
  if (!(await runtime.inspectImage(opts.helper))) {
    throw new SlimError(`the helper image ${opts.helper} is not in the engine`, { code: 'IMAGE_NOT_FOUND', hint: `give --image IMAGE: any image in the engine with /bin/sh (the slim image itself has none), or pull ${opts.helper}` });
  }
  const container = await runtime.inspectContainer(opts.target);
  const target = container ? runningTarget(container) : await startTarget(opts, deps);
  log.info(`debug shell from ${opts.helper} in the PID and network namespaces of ${target.what}: its files are at /proc/1/root (the working directory), its processes are in ps`);
  const helper = await runtime.runAttached(
    {
      image: opts.helper,
      entrypoint: ['/bin/sh', '-c', ENTER, 'slim-debug'],
      cmd: opts.args,
      pid: `container:${target.id}`,
      network: `container:${target.id}`,
      // /proc/1/root of a process of another user (a non-root USER, as --harden makes) needs it.
      capAdd: ['SYS_PTRACE'],
      labels: labelsFor(scope.id, 'debug-shell'),
    },
    io,
  ).catch(async (err: unknown) => {
    // The engine's word for a target that ended meanwhile is about namespaces: say what happened.
    const now = await runtime.inspectContainer(target.id).catch(() => undefined);
    if (now && !now.running) throw new SlimError(`${target.what} exited with code ${now.exitCode} before the shell could join it`, { code: 'NOT_RUNNING', hint: container ? 'start it again (docker start), then debug it' : NOT_RUNNING_HINT });
    throw err;
  });
  scope.defer('debug shell container', () => helper.remove());
  attached?.(helper);
  try {
    return await helper.exited;
  } finally {
    scope.release('debug shell container');
    await helper.remove();
  }
}

function runningTarget(c: ContainerInfo): { id: string; what: string } {
  if (!c.running) {
    throw new SlimError(`container ${c.name} is not running (it exited with code ${c.exitCode})`, { code: 'NOT_RUNNING', hint: `start it again, or give its image (${c.image}): slim debug starts an image itself` });
  }
  return { id: c.id, what: `container ${c.name} (${c.id.slice(0, 12)})` };
}

/** Start an image target as a labelled container, removed when the run ends, and make sure it stayed up. */
async function startTarget(opts: DebugOptions, { runtime, scope }: BuildDeps): Promise<{ id: string; what: string }> {
  if (!(await runtime.inspectImage(opts.target))) {
    throw new SlimError(`no container or image named ${opts.target} in the engine`, { code: 'IMAGE_NOT_FOUND', hint: 'give a running container\'s name or ID, or an image in the engine (docker ps, docker image ls)' });
  }
  const { run } = opts;
  const c: RunningContainer = await runtime.run({
    image: opts.target,
    ...(run.entrypoint ? { entrypoint: run.entrypoint } : {}),
    ...(run.cmd ? { cmd: run.cmd } : {}),
    env: run.env,
    ...(run.network ? { network: run.network } : {}),
    ...(run.user ? { user: run.user } : {}),
    labels: labelsFor(scope.id, 'debug-target'),
  });
  scope.defer('debug target container', () => c.remove());
  // A job that ends at once would be gone by the time the helper joins: give it a moment to show it.
  await Promise.race([c.wait().catch(() => {}), sleep(SETTLE_MS, scope.signal)]);
  const state = await c.state();
  if (!state.running) {
    const said = lastLines((await c.logs()).output ?? Buffer.alloc(0), 3).join(' / ');
    throw new SlimError(`${opts.target} exited with code ${state.exitCode} as soon as it started${said ? ` (${said})` : ''}: there is nothing to attach to`, { code: 'NOT_RUNNING', hint: NOT_RUNNING_HINT });
  }
  return { id: c.id, what: `${opts.target} (container ${c.id.slice(0, 12)})` };
}
