import { Option, type Command } from 'commander';
import { DEFAULTS } from '../options.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** The flags that say how the image runs and is exercised: shared by `build` and `probe`. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--smoke <cmd>', 'host shell command that proves the app works, retried until it passes (env: SLIM_CONTAINER, SLIM_IMAGE); without it the image is run as a job until it exits')
    .option('--smoke-timeout <seconds>', 'how long the checks may take to pass (the readiness wait)', DEFAULTS.smokeTimeout)
    .option('--http-probe <request>', 'HTTP request that must answer 2xx: "GET /health", "POST /api/x {json}" (repeatable)', collect, [])
    .option('--http-spec <file>', 'HTTP requests with expected status, body text or JSON fields, from a YAML/JSON file (repeatable)', collect, [])
    .option('--http-port <port>', 'container port for HTTP checks (default: the published one, else the image\'s first EXPOSE)')
    .option('--exec <cmd>', 'command run inside the container that must exit 0, e.g. the app\'s self-check (repeatable)', collect, [])
    .option('--compare-output <path>', 'for a job: files at this path must be the same on the original and the slim image (repeatable)', collect, [])
    .addOption(new Option('--probe <backend>', 'how file accesses are traced; auto = both if the engine allows, else what it allows').choices(['auto', 'strace', 'fanotify', 'both']).default(DEFAULTS.probe))
    .option('--network <mode>', 'network of the container (docker run --network), e.g. host')
    .option('-e, --env <key=value>', 'environment variable for the container (repeatable)', collect, [])
    .option('--env-file <file>', 'environment variables from a file, as docker run --env-file (repeatable; -e wins)', collect, [])
    .option('-v, --volume <spec>', 'volume or bind mount, as docker run -v (repeatable)', collect, [])
    .option('--mount <spec>', 'bind, volume or tmpfs mount, as docker run --mount: type=bind,source=/data,target=/data,readonly (repeatable)', collect, [])
    .option('--add-host <host:ip>', 'extra /etc/hosts entry (repeatable)', collect, [])
    .option('-p, --publish <spec>', 'publish a port, as docker run -p (repeatable)', collect, [])
    .option('-u, --user <user[:group]>', 'run as this user (default: the image\'s USER)')
    .option('--entrypoint <cmd>', 'override the entrypoint: JSON array or words (drops the image\'s CMD, as docker does)')
    .option('--cmd <cmd>', 'override the command: JSON array or words')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('--cap-add <cap>', 'add a Linux capability, as docker run --cap-add, e.g. NET_ADMIN (repeatable; the probe adds its own on top, which the app does not get)', collect, [])
    .option('--security-opt <opt>', 'as docker run --security-opt: apparmor=…, label=…, seccomp=FILE|unconfined, no-new-privileges (repeatable)', collect, [])
    .option('--read-only', 'run the container with a read-only root filesystem (add --tmpfs for where it writes)')
    .option('--tmpfs <path>', 'mount a tmpfs at this path (repeatable)', collect, [])
    .option('--stop-timeout <seconds>', 'grace period between the stop signal and SIGKILL', DEFAULTS.stopTimeout)
    .option('--trace-out <file>', 'write the trace (JSON Lines) here')
    .option('--run-id <id>', 'label value for everything this run creates in the engine (io.slim.run=ID); default: random');
}

export { collect };
