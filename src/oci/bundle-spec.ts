/**
 * The OCI runtime spec (config.json) of one container, as runc and crun read it, from what slim
 * decided about the run. Pure: every host path and id is given. The defaults are Docker's, so
 * that an app sees the same container under either: its capability set, its /dev, /proc and
 * /sys mounts, its masked and read-only paths, and /etc/hosts, /etc/hostname and
 * /etc/resolv.conf bound from files of the bundle.
 */

/** Docker's default capabilities (moby's oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
] as const;

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface BundleInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Added to Docker's default set (names without CAP_, or ALL). */
  capAdd: string[];
  readonlyRoot: boolean;
  hostname: string;
  /** host: the host's network namespace; none: a new one with only loopback. */
  network: 'host' | 'none';
  /** Volumes, binds and tmpfs mounts, already resolved to host paths. */
  mounts: OciMount[];
  /** Files of the bundle bound over /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  noNewPrivileges: boolean;
  /** A seccomp profile in Docker's JSON form; undefined: none. */
  seccomp?: DockerSeccomp;
}

export interface DockerSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: { names?: string[]; name?: string; action: string; errnoRet?: number; args?: unknown[] }[];
}

/** The capability set of a process: Docker's defaults plus what was added, as CAP_ names. */
export function capabilitySet(capAdd: readonly string[], all: readonly string[]): string[] {
  const names = capAdd.includes('ALL') ? all : [...new Set([...DOCKER_DEFAULT_CAPS, ...capAdd])];
  return names.map((c) => `CAP_${c}`);
}

export function bundleSpec(b: BundleInput, allCaps: readonly string[]): Record<string, unknown> {
  const caps = capabilitySet(b.capAdd, allCaps);
  // Docker gives a non-root process no effective capabilities but keeps the bounding set.
  const root = b.uid === 0;
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(b.network === 'none' ? [{ type: 'network' }] : [])];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: b.uid, gid: b.gid, ...(b.additionalGids.length ? { additionalGids: b.additionalGids } : {}) },
      args: b.args,
      env: b.env,
      cwd: b.cwd,
      capabilities: {
        bounding: caps,
        effective: root ? caps : [],
        permitted: root ? caps : [],
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: b.noNewPrivileges,
    },
    root: { path: b.rootfs, readonly: b.readonlyRoot },
    hostname: b.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: b.etcFiles.resolvConf, options: ['rbind', 'rprivate'] },
      { destination: '/etc/hostname', type: 'bind', source: b.etcFiles.hostname, options: ['rbind', 'rprivate'] },
      { destination: '/etc/hosts', type: 'bind', source: b.etcFiles.hosts, options: ['rbind', 'rprivate'] },
      ...b.mounts,
    ],
    linux: {
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      ...(b.seccomp ? { seccomp: ociSeccomp(b.seccomp) } : {}),
    },
  };
}

/** Docker's seccomp JSON as the OCI spec has it: the same actions and architectures, `names` for `name`. */
export function ociSeccomp(p: DockerSeccomp): Record<string, unknown> {
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(p.architectures ? { architectures: p.architectures } : {}),
    syscalls: (p.syscalls ?? []).map((s) => ({
      names: s.names ?? (s.name ? [s.name] : []),
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args?.length ? { args: s.args } : {}),
    })),
  };
}

/** The process environment as Docker builds it: the image's, then the run's (a key set twice keeps the last), PATH, HOSTNAME and HOME when missing. */
export function containerEnv(imageEnv: readonly string[], runEnv: readonly string[], hostname: string, home: string): string[] {
  const byKey = new Map<string, string>();
  for (const kv of [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, `HOSTNAME=${hostname}`, ...imageEnv, ...runEnv]) {
    const eq = kv.indexOf('=');
    byKey.set(eq < 0 ? kv : kv.slice(0, eq), kv);
  }
  if (!byKey.has('HOME')) byKey.set('HOME', `HOME=${home}`);
  return [...byKey.values()];
}

/** Docker's rule: --entrypoint replaces the image's and drops its CMD; a run's cmd replaces the image's. */
export function containerArgs(image: { Entrypoint?: string[] | null; Cmd?: string[] | null }, run: { entrypoint?: string[]; cmd?: string[] }): string[] {
  const entrypoint = run.entrypoint ?? image.Entrypoint ?? [];
  const cmd = run.cmd ?? (run.entrypoint ? [] : image.Cmd ?? []);
  return [...entrypoint, ...cmd];
}
