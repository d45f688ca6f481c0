/**
 * A seccomp profile in Docker's JSON format that allows the system calls a run was seen making,
 * and refuses every other one with EPERM.
 */
export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: { names: string[]; action: 'SCMP_ACT_ALLOW' }[];
}

/**
 * What the runtime itself does in the container after it installed the filter and before the
 * app runs (runc: the exec fifo, then execve), and what every process needs to start and end.
 */
export const RUNTIME_BASELINE = [
  'execve', 'execveat', 'exit', 'exit_group', 'read', 'write', 'close', 'close_range', 'openat', 'fstat', 'newfstatat', 'fcntl',
  'futex', 'getpid', 'getppid', 'gettid', 'tgkill', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'sigaltstack',
  'capget', 'capset', 'prctl', 'setgroups', 'setuid', 'setgid', 'setresuid', 'setresgid', 'getuid', 'getgid', 'geteuid', 'getegid',
  'brk', 'mmap', 'munmap', 'mprotect', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrandom',
  'epoll_pwait', 'nanosleep', 'clock_gettime', 'clock_nanosleep', 'sched_yield', 'madvise', 'dup3', 'fchdir', 'chdir',
  // runc closes inherited fds after the filter is in: it checks /proc/self/fd is procfs and lists it.
  'fstatfs', 'statfs', 'getdents64', 'lseek', 'readlinkat', 'umask',
  // ...then finds the program to exec from the working directory.
  'getcwd', 'faccessat', 'faccessat2',
];

const ARCHES: Record<string, string[]> = {
  amd64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** System call names from strace -c tables (one or several, concatenated). */
export function parseSyscallSummary(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!/^\s*\d/.test(line)) continue; // the header, rulers and blank lines
    const name = line.trim().split(/\s+/).pop()!;
    if (name !== 'total' && /^[a-z_][a-z0-9_]*$/.test(name)) names.add(name);
  }
  return [...names].sort();
}

export function seccompProfile(observed: Iterable<string>, architecture: string): SeccompProfile {
  const names = [...new Set([...RUNTIME_BASELINE, ...observed])].sort();
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ARCHES[architecture] ?? ARCHES.amd64!,
    syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }],
  };
}
