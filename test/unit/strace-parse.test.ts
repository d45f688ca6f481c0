import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCall, unescape } from '../../src/trace/strace-call.js';
import { parseStraceLog, StraceParser } from '../../src/trace/strace-parse.js';
import type { AccessRecord } from '../../src/trace/record.js';

/**
 * Recorded with strace 6.1 on this kind of host:
 *   strace -f --seccomp-bpf -qq -y -e trace=%file,%process,fchdir -o LOG -- CMD
 * names-and-cwd.log   sh running cat on awkward names, cd, a failed open; its last line cut mid-write
 * threads-and-names.log  a Python script (scenario in the test names below), from its first own call
 * sh-path.log         sh: cd, a relative ./script exec'd by a vfork child, PATH search, exec failure then success
 * killed-mid-call.log a process SIGKILLed inside wait4; the log then cut mid-write
 */
const load = (name: string) => readFileSync(new URL(`./data/strace/${name}`, import.meta.url), 'latin1');

type Rec = Omit<AccessRecord, 'via'>;
const bare = (rs: AccessRecord[]): Rec[] =>
  rs.map((r) => {
    expect(r.via).toBe('strace');
    const { via: _via, ...rest } = r;
    return rest;
  });
const run = (lines: string[], cwd = '/app') => {
  const p = new StraceParser({ cwd });
  for (const l of lines) p.push(l);
  const { records, skippedLines } = p.finish();
  return { records: bare(records), skippedLines };
};

describe('recorded: names-and-cwd.log (sh, cat, cd, vfork)', () => {
  const { records, skippedLines } = parseStraceLog(load('names-and-cwd.log'), { cwd: '/' });

  it('gives exactly these records', () => {
    expect(bare(records)).toEqual([
      { pid: 17511, op: 'exec', path: '/usr/bin/sh', ok: true },
      { pid: 17511, op: 'stat', path: '/tmp/st2', ok: true },
      { pid: 17511, op: 'open', path: '/tmp/st2', ok: true },
      { pid: 17511, op: 'create', path: '/dev/null', ok: true },
      { pid: 17511, op: 'stat', path: '/usr/bin/cat', ok: true },
      // execve left unfinished while the parent's vfork returned, joined per pid
      { pid: 17512, op: 'exec', path: '/usr/bin/cat', ok: true },
      // newfstatat(1</dev/null>, "", …, AT_EMPTY_PATH): the fd's own path
      { pid: 17512, op: 'stat', path: '/dev/null', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/a b', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/q"uote', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/caf\xe9', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/new\nline', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/back\\slash', ok: true },
      // a symlink: the fd -y prints on return is where it led
      { pid: 17512, op: 'open', path: '/tmp/st2/link', resolved: '/tmp/st2/a b', ok: true },
      { pid: 17511, op: 'chdir', path: '/tmp/st2/sub', ok: true },
      // "../a b" from /tmp/st2/sub is the open above: recorded once
      { pid: 17513, op: 'open', path: '/tmp/st2/sub/nothere', ok: false, err: 'ENOENT' },
    ]);
  });

  it('skips the last line, cut mid-write, and counts it', () => {
    expect(skippedLines).toBe(1);
    expect(records.some((r) => r.path.startsWith('/etc'))).toBe(false);
  });
});

describe('recorded: threads-and-names.log (python: names, cwd, threads, fork, fexecve, exec from a thread)', () => {
  const { records, skippedLines } = parseStraceLog(load('threads-and-names.log'), { cwd: '/tmp/st' });

  it('gives exactly these records', () => {
    expect(skippedLines).toBe(0);
    expect(bare(records)).toEqual([
      { pid: 20020, op: 'access', path: '/MARK-begin', ok: false, err: 'ENOENT' },
      { pid: 20020, op: 'open', path: '/tmp/st', ok: true },
      // chdir("sublink"), a symlink to sub: the path as asked
      { pid: 20020, op: 'chdir', path: '/tmp/st/sublink', ok: true },
      // access("../a b"): no dirfd, so against the tracked cwd
      { pid: 20020, op: 'access', path: '/tmp/st/a b', ok: true },
      // openat(AT_FDCWD</tmp/st/sub>, "../a b"): against the cwd -y printed
      { pid: 20020, op: 'open', path: '/tmp/st/a b', ok: true },
      { pid: 20020, op: 'stat', path: '/tmp/st/a b', ok: true },
      // fchdir(3</tmp/st>)
      { pid: 20020, op: 'chdir', path: '/tmp/st', ok: true },
      // -y escapes < and > in fd paths as \74 \76
      { pid: 20020, op: 'open', path: '/tmp/st/ang<le>', ok: true },
      { pid: 20020, op: 'stat', path: '/tmp/st/ang<le>', ok: true },
      { pid: 20020, op: 'open', path: '/tmp/st/ctl\t\v\f\r\x01', ok: true },
      { pid: 20020, op: 'stat', path: '/tmp/st/ctl\t\v\f\r\x01', ok: true },
      { pid: 20020, op: 'open', path: '/tmp/st/caf\xe9', ok: true },
      { pid: 20020, op: 'stat', path: '/tmp/st/caf\xe9', ok: true },
      { pid: 20020, op: 'stat', path: '/tmp/st/missing\x80\xff"\\', ok: false, err: 'ENOENT' },
      // (a 5000-byte name strace printed as "xxx…"... : skipped)
      { pid: 20020, op: 'write', path: '/tmp/st/a b', ok: true }, // rename("a b", "a c")
      { pid: 20020, op: 'create', path: '/tmp/st/a c', ok: true },
      { pid: 20020, op: 'write', path: '/tmp/st/a c', ok: true }, // rename("a c", "a b")
      { pid: 20020, op: 'create', path: '/tmp/st/a b', ok: true },
      { pid: 20020, op: 'other', path: '/tmp/st/a b', ok: true }, // link("a b", "hard")
      { pid: 20020, op: 'create', path: '/tmp/st/hard', ok: true },
      { pid: 20020, op: 'write', path: '/tmp/st/hard', ok: true }, // unlink
      { pid: 20020, op: 'create', path: '/tmp/st/sl', ok: true }, // symlink("../nowhere", "sl"): not the target
      { pid: 20020, op: 'write', path: '/tmp/st/sl', ok: true },
      { pid: 20020, op: 'create', path: '/tmp/st/newdir', ok: true }, // mkdir
      { pid: 20020, op: 'write', path: '/tmp/st/newdir', ok: true }, // rmdir
      { pid: 20020, op: 'create', path: '/tmp/st/tmpdel', ok: true }, // O_WRONLY|O_CREAT|O_TRUNC
      { pid: 20020, op: 'stat', path: '/tmp/st/tmpdel', ok: true },
      { pid: 20020, op: 'write', path: '/tmp/st/tmpdel', ok: true },
      // fstat of 4</tmp/st/tmpdel>(deleted) and of 5<socket:[…]>: nothing
      { pid: 20020, op: 'open', path: '/tmp/st/sub', ok: true },
      { pid: 20020, op: 'open', path: '/tmp/st/sub/nope', ok: false, err: 'ENOENT' }, // openat(6</tmp/st/sub>, "nope")
      { pid: 20020, op: 'stat', path: '/tmp/st/sub/run.sh', ok: true },
      // a thread (clone3 with CLONE_FS) changes the cwd of the whole process…
      { pid: 20061, op: 'chdir', path: '/tmp/st/sub', ok: true },
      // …so the main thread's access("run.sh") is in /tmp/st/sub
      { pid: 20020, op: 'access', path: '/tmp/st/sub/run.sh', ok: true },
      // after a fork: the parent moves to /; the child's access("run.sh") is still /tmp/st/sub/run.sh, seen above
      { pid: 20020, op: 'chdir', path: '/', ok: true },
      { pid: 20020, op: 'access', path: '/tmp', ok: true },
      { pid: 20063, op: 'open', path: '/tmp/st/bin/tru', ok: true },
      // fexecve: execveat(7</tmp/st/bin/tru>, "", …, AT_EMPTY_PATH)
      { pid: 20063, op: 'exec', path: '/tmp/st/bin/tru', ok: true },
      { pid: 20063, op: 'access', path: '/etc/ld.so.preload', ok: false, err: 'ENOENT' },
      { pid: 20063, op: 'open', path: '/etc/ld.so.cache', ok: true },
      { pid: 20063, op: 'stat', path: '/etc/ld.so.cache', ok: true },
      { pid: 20063, op: 'open', path: '/lib/x86_64-linux-gnu/libc.so.6', resolved: '/usr/lib/x86_64-linux-gnu/libc.so.6', ok: true },
      { pid: 20063, op: 'stat', path: '/usr/lib/x86_64-linux-gnu/libc.so.6', ok: true },
      // the execve from a thread (<pid changed to 20020 ...>) and its loads repeat the above: once each
    ]);
  });

  it('reads the same line by line', () => {
    const p = new StraceParser({ cwd: '/tmp/st' });
    for (const line of load('threads-and-names.log').split('\n')) p.push(line);
    expect(p.finish()).toEqual({ records, skippedLines });
  });
});

describe('recorded: sh-path.log (cd, ./script from a vfork child, PATH search)', () => {
  const { records, skippedLines } = parseStraceLog(load('sh-path.log'), { cwd: '/tmp/st' });
  const own = bare(records).filter((r) => !r.path.startsWith('/usr/lib/locale/') && !r.path.startsWith('/etc/') && !r.path.includes('x86_64-linux-gnu'));

  it('gives exactly these records (outside libc and locale files)', () => {
    expect(skippedLines).toBe(0);
    expect(own).toEqual([
      { pid: 20390, op: 'exec', path: '/usr/bin/sh', ok: true },
      { pid: 20390, op: 'stat', path: '/tmp/st', ok: true },
      { pid: 20390, op: 'chdir', path: '/tmp/st/sub', ok: true },
      // execve("./run.sh") by the vfork child, in the cwd it inherited
      { pid: 20391, op: 'exec', path: '/tmp/st/sub/run.sh', ok: true },
      { pid: 20391, op: 'stat', path: '/tmp/st/sub', ok: true },
      { pid: 20391, op: 'open', path: '/tmp/st/sub/run.sh', ok: true },
      { pid: 20391, op: 'stat', path: '/tmp/st/nobin/cat', ok: false, err: 'ENOENT' },
      { pid: 20391, op: 'stat', path: '/tmp/st/bin/cat', ok: false, err: 'ENOENT' },
      { pid: 20391, op: 'stat', path: '/usr/bin/cat', ok: true },
      { pid: 20392, op: 'exec', path: '/usr/bin/cat', ok: true },
      { pid: 20392, op: 'open', path: '/usr/share/locale/locale.alias', resolved: '/etc/locale.alias', ok: true },
      { pid: 20392, op: 'open', path: '/tmp/st/a b', ok: true },
      { pid: 20392, op: 'stat', path: '/tmp/st/a b', ok: true },
      { pid: 20390, op: 'stat', path: '/tmp/st/nobin/tru', ok: false, err: 'ENOENT' },
      { pid: 20390, op: 'stat', path: '/tmp/st/bin/tru', ok: true },
      { pid: 20393, op: 'exec', path: '/tmp/st/bin/tru', ok: true },
      { pid: 20390, op: 'chdir', path: '/tmp/st', ok: true },
      // `exec tru`: the failed PATH entry is recorded; the success repeats 20393's exec
      { pid: 20390, op: 'exec', path: '/tmp/st/nobin/tru', ok: false, err: 'ENOENT' },
    ]);
  });
});

describe('recorded: killed-mid-call.log', () => {
  it('takes `<... wait4 resumed> <unfinished ...>) = ?` and skips the cut last line', () => {
    const { records, skippedLines } = parseStraceLog(load('killed-mid-call.log'), { cwd: '/tmp/sx/d' });
    expect(bare(records)).toEqual([{ pid: 8738, op: 'stat', path: '/etc', ok: true }]);
    expect(skippedLines).toBe(1);
  });
});

describe('syscalls to records', () => {
  it.each<[string, string, Rec[]]>([
    ['stat ENOENT', '5 newfstatat(AT_FDCWD</app>, "lib/x.py", 0x7ffd, 0) = -1 ENOENT (No such file or directory)', [{ pid: 5, op: 'stat', path: '/app/lib/x.py', ok: false, err: 'ENOENT' }]],
    ['stat EACCES', '5 stat("/root/x", 0x7ffd) = -1 EACCES (Permission denied)', [{ pid: 5, op: 'stat', path: '/root/x', ok: false, err: 'EACCES' }]],
    ['lstat', '5 lstat("/usr/bin/python3", {st_mode=S_IFLNK|0777, st_size=10, ...}) = 0', [{ pid: 5, op: 'stat', path: '/usr/bin/python3', ok: true }]],
    ['statx relative to a dirfd', '5 statx(3</usr/lib/python3.11>, "json", AT_STATX_SYNC_AS_STAT, STATX_ALL, {...}) = 0', [{ pid: 5, op: 'stat', path: '/usr/lib/python3.11/json', ok: true }]],
    ['access', '5 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)', [{ pid: 5, op: 'access', path: '/etc/ld.so.preload', ok: false, err: 'ENOENT' }]],
    ['faccessat2', '5 faccessat2(AT_FDCWD</app>, "bin/run", X_OK, AT_EACCESS) = 0', [{ pid: 5, op: 'access', path: '/app/bin/run', ok: true }]],
    ['readlink', '5 readlink("/proc/self/exe", "/usr/bin/python3.11", 4096) = 19', [{ pid: 5, op: 'readlink', path: '/proc/self/exe', ok: true }]],
    ['readlinkat', '5 readlinkat(AT_FDCWD</app>, "current", "v2", 4095) = 2', [{ pid: 5, op: 'readlink', path: '/app/current', ok: true }]],
    ['readlink of a non-link', '5 readlink("pyenv", 0x55fc973c5b60, 64) = -1 EINVAL (Invalid argument)', [{ pid: 5, op: 'readlink', path: '/app/pyenv', ok: false, err: 'EINVAL' }]],
    ['open read-only', '5 open("/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>', [{ pid: 5, op: 'open', path: '/etc/passwd', ok: true }]],
    ['O_CREAT', '5 openat(AT_FDCWD</app>, "data/new.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 3</app/data/new.db>', [{ pid: 5, op: 'create', path: '/app/data/new.db', ok: true }]],
    ['O_WRONLY', '5 openat(AT_FDCWD</app>, "/var/log/x", O_WRONLY|O_APPEND) = 4</var/log/x>', [{ pid: 5, op: 'write', path: '/var/log/x', ok: true }]],
    ['O_RDWR', '5 openat(AT_FDCWD</app>, "db", O_RDWR) = 4</app/db>', [{ pid: 5, op: 'write', path: '/app/db', ok: true }]],
    // Opening a directory is not listing it (a dirfd for *at calls, fts): only getdents is.
    ['O_DIRECTORY', '5 openat(AT_FDCWD</app>, "/usr/lib/", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 3</usr/lib>', [{ pid: 5, op: 'open', path: '/usr/lib', ok: true }]],
    ['getdents64', '5 getdents64(3</app/plugins>, 0x55d0c2a0 /* 4 entries */, 32768) = 112', [{ pid: 5, op: 'list', path: '/app/plugins', ok: true }]],
    ['getdents', '5 getdents(4</srv>, 0x55d0c2a0 /* 2 entries */, 32768) = 48', [{ pid: 5, op: 'list', path: '/srv', ok: true }]],
    ['getdents64 at the end of the directory', '5 getdents64(3</app/plugins>, 0x55d0c2a0 /* 0 entries */, 32768) = 0', [{ pid: 5, op: 'list', path: '/app/plugins', ok: true }]],
    ['getdents64 on a bad fd', '5 getdents64(9, 0x55d0c2a0, 32768) = -1 EBADF (Bad file descriptor)', []],
    ['O_TMPFILE', '5 openat(AT_FDCWD</app>, "/tmp", O_RDWR|O_TMPFILE, 0600) = 3</tmp/#123>(deleted)', [{ pid: 5, op: 'write', path: '/tmp', ok: true }]],
    ['openat2', '5 openat2(AT_FDCWD</app>, "conf", {flags=O_RDWR|O_CREAT|O_CLOEXEC, resolve=RESOLVE_NO_SYMLINKS}, 24) = 3</app/conf>', [{ pid: 5, op: 'create', path: '/app/conf', ok: true }]],
    ['creat', '5 creat("out.txt", 0644) = 3</app/out.txt>', [{ pid: 5, op: 'create', path: '/app/out.txt', ok: true }]],
    ['resolved from the returned fd', '5 openat(AT_FDCWD</app>, "/usr/lib/libz.so.1", O_RDONLY|O_CLOEXEC) = 3</usr/lib/libz.so.1.3>', [{ pid: 5, op: 'open', path: '/usr/lib/libz.so.1', resolved: '/usr/lib/libz.so.1.3', ok: true }]],
    ['no resolved from a returned pipe', '5 open("/dev/stdin", O_RDONLY) = 3<pipe:[1234]>', [{ pid: 5, op: 'open', path: '/dev/stdin', ok: true }]],
    ['exec', '5 execve("/usr/bin/env", ["env", "python3"], 0x7ffd /* 3 vars */) = 0', [{ pid: 5, op: 'exec', path: '/usr/bin/env', ok: true }]],
    ['exec failure', '5 execve("/usr/local/bin/node", ["node"], 0x7ff /* 3 vars */) = -1 ENOENT (No such file or directory)', [{ pid: 5, op: 'exec', path: '/usr/local/bin/node', ok: false, err: 'ENOENT' }]],
    ['exec of a relative path', '5 execve("./run.sh", ["./run.sh"], 0x7ff /* 3 vars */) = 0', [{ pid: 5, op: 'exec', path: '/app/run.sh', ok: true }]],
    ['execveat relative to a dirfd', '5 execveat(3</opt/bin>, "tool", ["tool"], 0x7ff /* 0 vars */, 0) = 0', [{ pid: 5, op: 'exec', path: '/opt/bin/tool', ok: true }]],
    ['mkdir', '5 mkdir("/tmp/cache", 0700) = 0', [{ pid: 5, op: 'create', path: '/tmp/cache', ok: true }]],
    ['mkdir EEXIST', '5 mkdirat(AT_FDCWD</app>, "tmp", 0777) = -1 EEXIST (File exists)', [{ pid: 5, op: 'create', path: '/app/tmp', ok: false, err: 'EEXIST' }]],
    ['mknod', '5 mknod("/app/fifo", S_IFIFO|0644) = 0', [{ pid: 5, op: 'create', path: '/app/fifo', ok: true }]],
    ['unlinkat AT_REMOVEDIR', '5 unlinkat(4</tmp/build>, "obj", AT_REMOVEDIR) = 0', [{ pid: 5, op: 'write', path: '/tmp/build/obj', ok: true }]],
    ['chmod', '5 chmod("run.sh", 0755) = 0', [{ pid: 5, op: 'write', path: '/app/run.sh', ok: true }]],
    ['fchownat', '5 fchownat(AT_FDCWD</app>, "data", 1000, 1000, AT_SYMLINK_NOFOLLOW) = 0', [{ pid: 5, op: 'write', path: '/app/data', ok: true }]],
    ['lchown', '5 lchown("/app/ln", 0, 0) = -1 EPERM (Operation not permitted)', [{ pid: 5, op: 'write', path: '/app/ln', ok: false, err: 'EPERM' }]],
    ['utimensat with a path', '5 utimensat(AT_FDCWD</app>, "stamp", NULL, 0) = 0', [{ pid: 5, op: 'write', path: '/app/stamp', ok: true }]],
    ['truncate', '5 truncate("/app/log", 0) = 0', [{ pid: 5, op: 'write', path: '/app/log', ok: true }]],
    ['statfs', '5 statfs("/sys/fs/selinux", 0x7fff58326510) = -1 ENOENT (No such file or directory)', [{ pid: 5, op: 'other', path: '/sys/fs/selinux', ok: false, err: 'ENOENT' }]],
    ['getxattr', '5 getxattr("/app/x", "security.selinux", 0x7ffd, 255) = -1 ENODATA (No data available)', [{ pid: 5, op: 'other', path: '/app/x', ok: false, err: 'ENODATA' }]],
    ['rename: both paths', '7 rename("a.tmp", "a") = 0', [{ pid: 7, op: 'write', path: '/app/a.tmp', ok: true }, { pid: 7, op: 'create', path: '/app/a', ok: true }]],
    ['renameat2 across dirfds', '7 renameat2(3</tmp>, "x", AT_FDCWD</app>, "y", RENAME_NOREPLACE) = 0', [{ pid: 7, op: 'write', path: '/tmp/x', ok: true }, { pid: 7, op: 'create', path: '/app/y', ok: true }]],
    ['renameat2 exchange', '7 renameat2(AT_FDCWD</app>, "a", AT_FDCWD</app>, "b", RENAME_EXCHANGE) = 0', [{ pid: 7, op: 'write', path: '/app/a', ok: true }, { pid: 7, op: 'write', path: '/app/b', ok: true }]],
    ['failed rename: both, with the errno', '7 rename("/app/gone", "/app/new") = -1 ENOENT (No such file or directory)', [{ pid: 7, op: 'write', path: '/app/gone', ok: false, err: 'ENOENT' }, { pid: 7, op: 'create', path: '/app/new', ok: false, err: 'ENOENT' }]],
    ['link: both paths', '7 link("a", "/srv/b") = 0', [{ pid: 7, op: 'other', path: '/app/a', ok: true }, { pid: 7, op: 'create', path: '/srv/b', ok: true }]],
    ['linkat', '7 linkat(3</data>, "in", AT_FDCWD</app>, "out", 0) = 0', [{ pid: 7, op: 'other', path: '/data/in', ok: true }, { pid: 7, op: 'create', path: '/app/out', ok: true }]],
    ['symlink: the link, not its target', '7 symlink("../target", "/app/ln") = 0', [{ pid: 7, op: 'create', path: '/app/ln', ok: true }]],
    ['symlinkat', '7 symlinkat("/etc/x", 3</srv>, "x") = 0', [{ pid: 7, op: 'create', path: '/srv/x', ok: true }]],
  ])('%s', (_name, line, want) => {
    expect(run([line]).records).toEqual(want);
  });

  it.each<[string, string]>([
    ['non-file syscalls', '5 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 17512'],
    ['kill', '8738 kill(8697, SIGKILL)               = 0'],
    ['exit_group', '5 exit_group(0)                     = ?'],
    ['getcwd', '5 getcwd("/tmp/sx/d", 1024)         = 10'],
    ['utimensat on the fd itself (futimens)', '8 utimensat(4</x>, NULL, NULL, 0) = 0'],
    ['a path strace could not read (an address)', '8 openat(AT_FDCWD</>, 0x7ffd1234, O_RDONLY) = -1 EFAULT (Bad address)'],
    ['a path strace cut short', '8 openat(AT_FDCWD</>, "/very/long/pa"..., O_RDONLY) = 3</very/long/path>'],
    ['an empty path without AT_EMPTY_PATH', '8 newfstatat(3</etc>, "", 0x7ffd, 0) = -1 ENOENT (No such file or directory)'],
    ['relative to an fd -y could not name', '8 openat(3, "x", O_RDONLY) = 4'],
    ['relative to a socket', '8 openat(3<socket:[1234]>, "x", O_RDONLY) = -1 ENOTDIR (Not a directory)'],
    ['a call the kernel restarts (printed again when it is)', '8 openat(AT_FDCWD</>, "/fifo", O_RDONLY) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)'],
  ])('nothing for %s', (_name, line) => {
    expect(run([line])).toEqual({ records: [], skippedLines: 0 });
  });

  describe('AT_EMPTY_PATH: the call is about the fd', () => {
    it.each<[string, string, Rec[]]>([
      ['fstat', '5 newfstatat(3</etc/ld.so.cache>, "", {st_mode=S_IFREG|0644, st_size=35415, ...}, AT_EMPTY_PATH) = 0', [{ pid: 5, op: 'stat', path: '/etc/ld.so.cache', ok: true }]],
      ['statx', '5 statx(3</usr/lib>, "", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, {...}) = 0', [{ pid: 5, op: 'stat', path: '/usr/lib', ok: true }]],
      ['fexecve', '5 execveat(7</tmp/st/bin/tru>, "", ["tru"], 0x7f0951ba4790 /* 0 vars */, AT_EMPTY_PATH) = 0', [{ pid: 5, op: 'exec', path: '/tmp/st/bin/tru', ok: true }]],
      ['a socket', '5 newfstatat(5<socket:[676633]>, "", {st_mode=S_IFSOCK|0777, st_size=0, ...}, AT_EMPTY_PATH) = 0', []],
      ['a pipe', '5 newfstatat(0<pipe:[643181]>, "", {st_mode=S_IFIFO|0600, st_size=0, ...}, AT_EMPTY_PATH) = 0', []],
      ['a deleted file', '5 newfstatat(4</tmp/st/tmpdel>(deleted), "", {st_mode=S_IFREG|0644, st_size=0, ...}, AT_EMPTY_PATH) = 0', []],
      ['a deleted file, pre-6.0 style', '5 newfstatat(4</tmp/st/tmpdel (deleted)>, "", {st_mode=S_IFREG|0644, st_size=0, ...}, AT_EMPTY_PATH) = 0', []],
      ['an fd without -y path', '5 newfstatat(4, "", {st_mode=S_IFREG|0644, st_size=0, ...}, AT_EMPTY_PATH) = 0', []],
    ])('%s', (_name, line, want) => {
      expect(run([line]).records).toEqual(want);
    });
  });

  it('takes a deleted directory fd as the base of what was asked', () => {
    expect(run(['5 openat(3</tmp/gone>(deleted), "x", O_RDONLY) = -1 ENOENT (No such file or directory)', '6 openat(3</tmp/old (deleted)>, "y", O_RDONLY) = -1 ENOENT (No such file or directory)']).records).toEqual([
      { pid: 5, op: 'open', path: '/tmp/gone/x', ok: false, err: 'ENOENT' },
      { pid: 6, op: 'open', path: '/tmp/old/y', ok: false, err: 'ENOENT' },
    ]);
  });

  it('folds `.`, `..` and repeated slashes lexically, `..` stopping at /', () => {
    expect(
      run([
        '5 openat(AT_FDCWD</app>, "./lib/../etc//conf/", O_RDONLY) = -1 ENOENT (No such file or directory)',
        '5 stat("../../../../etc/passwd", 0x7ffd) = 0',
        '5 openat(3<//usr/./lib/>, "x", O_RDONLY) = -1 ENOENT (No such file or directory)',
        '5 access(".", F_OK) = 0',
      ]).records.map((r) => r.path),
    ).toEqual(['/app/etc/conf', '/etc/passwd', '/usr/lib/x', '/app']);
  });
});

describe('strings', () => {
  it('decodes every C escape strace writes into bytes', () => {
    expect(unescape('\\a\\b\\t\\n\\v\\f\\r\\"\\\\\\0\\177\\377\\x41\\xff')).toBe('\x07\b\t\n\v\f\r"\\\x00\x7f\xffA\xff');
  });

  it('reads octal escapes of one to three digits (strace pads to three before a digit)', () => {
    expect(unescape('\\1\\12\\0011\\3770')).toBe('\x01\n\x011\xff0');
  });

  it('keeps a lone backslash and plain latin1 text', () => {
    expect(unescape('a\\qb\\')).toBe('a\\qb\\');
    expect(unescape('caf\xe9')).toBe('caf\xe9');
  });

  it('decodes names in paths, -y decorations and resolved paths alike', () => {
    expect(
      run([
        '5 openat(AT_FDCWD</srv/d\\303\\251j\\303\\240>, "new\\nline\\t\\"q\\" b\\\\s\\x80\\377", O_RDONLY) = 3</srv/d\\303\\251j\\303\\240/new\\nline\\t\\"q\\" b\\\\s\\200\\377>',
        '5 openat(AT_FDCWD</srv>, "ln", O_RDONLY) = 3</srv/\\74a\\76 \\"b\\"\\n>',
      ]).records,
    ).toEqual([
      { pid: 5, op: 'open', path: '/srv/d\xc3\xa9j\xc3\xa0/new\nline\t"q" b\\s\x80\xff', ok: true },
      { pid: 5, op: 'open', path: '/srv/ln', resolved: '/srv/<a> "b"\n', ok: true },
    ]);
  });

  it('scans commas, brackets and parentheses inside strings and structs as data', () => {
    expect(parseCall('execve("/bin/sh", ["sh", "-c", "a, (b) [c] {d} <e>"], 0x7ffd /* 35 vars */) = 0')).toEqual({
      name: 'execve',
      args: ['"/bin/sh"', '["sh", "-c", "a, (b) [c] {d} <e>"]', '0x7ffd /* 35 vars */'],
      ret: '0',
    });
    expect(
      parseCall(
        'clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f095169c990, parent_tid=0x7f095169c990, exit_signal=0, stack=0x7f0950e9c000, stack_size=0x7fff80, tls=0x7f095169c6c0} => {parent_tid=[20061]}, 88) = 20061',
      )?.args,
    ).toHaveLength(2);
  });
});

describe('unfinished and resumed calls', () => {
  it('joins each pid with its own half across interleaved lines', () => {
    const r = run([
      '10 openat(AT_FDCWD</app>, "one", O_RDONLY <unfinished ...>',
      '11 newfstatat(AT_FDCWD</srv>, "two",  <unfinished ...>',
      '12 execve("/usr/bin/three", ["three"], 0x5634 /* 35 vars */ <unfinished ...>',
      '11 <... newfstatat resumed>0x7ffd, 0) = -1 ENOENT (No such file or directory)',
      '10 <... openat resumed>)             = 3</app/one>',
      '12 <... execve resumed>)             = -1 EACCES (Permission denied)',
    ]);
    expect(r).toEqual({
      records: [
        { pid: 11, op: 'stat', path: '/srv/two', ok: false, err: 'ENOENT' },
        { pid: 10, op: 'open', path: '/app/one', ok: true },
        { pid: 12, op: 'exec', path: '/usr/bin/three', ok: false, err: 'EACCES' },
      ],
      skippedLines: 0,
    });
  });

  it('keeps flags printed after the resumption', () => {
    const r = run(['10 openat(AT_FDCWD</app>, "d",  <unfinished ...>', '10 <... openat resumed>O_RDWR|O_CREAT, 0644) = 3</app/d>']);
    expect(r.records).toEqual([{ pid: 10, op: 'create', path: '/app/d', ok: true }]);
  });

  it('records a file call the process died in (return `?` is not -1)', () => {
    const r = run(['10 openat(AT_FDCWD</app>, "x", O_RDONLY <unfinished ...>', '10 <... openat resumed> <unfinished ...>) = ?', '10 +++ killed by SIGKILL +++']);
    expect(r).toEqual({ records: [{ pid: 10, op: 'open', path: '/app/x', ok: true }], skippedLines: 0 });
  });

  it('counts a resumption with no start, or with another call started, as skipped', () => {
    expect(run(['10 <... openat resumed>) = 3</x>']).skippedLines).toBe(1);
    expect(run(['10 wait4(-1,  <unfinished ...>', '10 <... openat resumed>) = 3</x>']).skippedLines).toBe(2);
  });

  it('counts calls still unfinished at the end, or when their process is gone', () => {
    expect(run(['9 openat(AT_FDCWD</>, "/x", O_RDONLY <unfinished ...>'])).toEqual({ records: [], skippedLines: 1 });
    expect(run(['9 openat(AT_FDCWD</>, "/x", O_RDONLY <unfinished ...>', '9 +++ exited with 0 +++'])).toEqual({ records: [], skippedLines: 1 });
  });

  it('takes an execve by a non-leader thread as done (strace 6.1 prints `<pid changed to …>` and a bogus return)', () => {
    // Recorded: threads-and-names.log, the script's last lines.
    const r = run(
      [
        '20020 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f095169c990, parent_tid=0x7f095169c990, exit_signal=0, stack=0x7f0950e9c000, stack_size=0x7fff80, tls=0x7f095169c6c0} => {parent_tid=[20064]}, 88) = 20064',
        '20064 execve("/tmp/st/bin/tru", ["tru"], 0x7ffd70d38920 /* 38 vars */ <pid changed to 20020 ...>',
        '20020 +++ superseded by execve in pid 20064 +++',
        '20020 <... execve resumed>)             = -1 (errno 18446744073709551595)',
        '20020 openat(AT_FDCWD</>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>',
      ],
      '/',
    );
    expect(r).toEqual({
      records: [
        { pid: 20020, op: 'exec', path: '/tmp/st/bin/tru', ok: true },
        { pid: 20020, op: 'open', path: '/etc/ld.so.cache', ok: true },
      ],
      skippedLines: 0,
    });
  });

  it('takes the same from older strace: left unfinished under the thread, resumed under the leader', () => {
    const r = run(['31 execve("bin/app", ["app"], 0x7ffd /* 3 vars */ <unfinished ...>', '30 +++ superseded by execve in pid 31 +++', '30 <... execve resumed>) = 0']);
    expect(r).toEqual({ records: [{ pid: 30, op: 'exec', path: '/app/bin/app', ok: true }], skippedLines: 0 });
  });

  it('reads a failed errno without a name', () => {
    expect(run(['5 open("/x", O_RDONLY) = -1 (errno 528)']).records).toEqual([{ pid: 5, op: 'open', path: '/x', ok: false, err: 'errno 528' }]);
  });
});

describe('cwd tracking', () => {
  it('starts from the given cwd, / by default', () => {
    expect(run(['1 access("x", F_OK) = 0'], '/srv/app/').records[0]?.path).toBe('/srv/app/x');
    const p = new StraceParser();
    p.push('1 access("x", F_OK) = 0');
    expect(p.finish().records[0]?.path).toBe('/x');
    expect(parseStraceLog('1 stat("x", 0x1) = 0\n', { cwd: 'rel/dir' }).records[0]?.path).toBe('/rel/dir/x');
  });

  it('gives a forked child its parent cwd at fork time, and follows fchdir', () => {
    const r = run([
      '10 chdir("/srv") = 0',
      '10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 11',
      '10 chdir("/") = 0',
      '11 stat("conf", 0x7ffc) = 0',
      '11 fchdir(3</etc>) = 0',
      '11 access("hosts", F_OK) = 0',
      '10 access("hosts", F_OK) = 0',
    ]);
    expect(r.records).toEqual([
      { pid: 10, op: 'chdir', path: '/srv', ok: true },
      { pid: 10, op: 'chdir', path: '/', ok: true },
      { pid: 11, op: 'stat', path: '/srv/conf', ok: true },
      { pid: 11, op: 'chdir', path: '/etc', ok: true },
      { pid: 11, op: 'access', path: '/etc/hosts', ok: true },
      { pid: 10, op: 'access', path: '/hosts', ok: true },
    ]);
  });

  it('shares the cwd between threads (CLONE_FS), not between processes', () => {
    const r = run([
      '20 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, parent_tid=[21]) = 21',
      '20 vfork() = 22',
      '21 chdir("/data") = 0',
      '20 access("a", F_OK) = 0',
      '22 access("b", F_OK) = 0',
    ]);
    expect(r.records.map((x) => x.path)).toEqual(['/data', '/data/a', '/app/b']);
  });

  it('gives a child that speaks before its parent’s fork returns the cwd of the parent in that fork', () => {
    const r = run([
      '40 chdir("/tmp/st/sub") = 0',
      '41 chdir("/elsewhere") = 0', // another process, not forking
      '40 vfork( <unfinished ...>',
      '42 access("./run.sh", X_OK) = 0',
      '40 <... vfork resumed>) = 42',
      '42 execve("./run.sh", ["./run.sh"], 0x5638 /* 35 vars */) = 0',
    ]);
    expect(r.records.slice(2).map((x) => x.path)).toEqual(['/tmp/st/sub/run.sh', '/tmp/st/sub/run.sh']);
  });

  it('forgets an exited process, so a reused pid gets its new parent’s cwd', () => {
    const r = run(['50 chdir("/old") = 0', '50 exit_group(0) = ?', '1 chdir("/new") = 0', '1 fork() = 50', '50 access("x", F_OK) = 0']);
    expect(r.records.at(-1)?.path).toBe('/new/x');
  });

  it('learns the kernel’s cwd from AT_FDCWD</…> and getcwd, after a chdir through a symlink', () => {
    const r = run([
      '5 chdir("current") = 0', // current -> releases/v2
      '5 access("../shared", F_OK) = -1 ENOENT (No such file or directory)',
      '5 newfstatat(AT_FDCWD</app/releases/v2>, "x", 0x7ffd, 0) = 0',
      '5 access("../shared", F_OK) = 0',
      '6 getcwd("/opt/real", 4096) = 10',
      '6 access("y", F_OK) = 0',
    ]);
    expect(r.records.map((x) => x.path)).toEqual(['/app/current', '/app/shared', '/app/releases/v2/x', '/app/releases/shared', '/opt/real/y']);
  });

  it('changes the cwd only when chdir or fchdir succeeded', () => {
    const r = run(['5 chdir("missing") = -1 ENOENT (No such file or directory)', '5 fchdir(3</etc>) = -1 EACCES (Permission denied)', '5 access("x", F_OK) = 0']);
    expect(r.records).toEqual([
      { pid: 5, op: 'chdir', path: '/app/missing', ok: false, err: 'ENOENT' },
      { pid: 5, op: 'chdir', path: '/etc', ok: false, err: 'EACCES' },
      { pid: 5, op: 'access', path: '/app/x', ok: true },
    ]);
  });

  it('falls back to the tracked cwd for an AT_FDCWD -y did not decorate', () => {
    expect(run(['5 chdir("/srv") = 0', '5 openat(AT_FDCWD, "x", O_RDONLY) = 3']).records.at(-1)?.path).toBe('/srv/x');
  });
});

describe('robustness', () => {
  it('ignores signals, exits and blank lines; counts what is not strace output', () => {
    const r = run([
      '9 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=8698, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---',
      '9 --- stopped by SIGSTOP ---',
      '9 +++ exited with 0 +++',
      '9 +++ killed by SIGKILL +++',
      '9 +++ killed by SIGSEGV (core dumped) +++',
      '',
      '   ',
      'not a trace line',
      'strace: Process 9 attached',
      '9 +++ something new +++',
      '9 ???(1, 2) = 0',
    ]);
    expect(r).toEqual({ records: [], skippedLines: 4 });
  });

  it.each([
    ['in a string', '9 openat(AT_FDCWD</>, "/etc/pass'],
    ['in a decoration', '9 openat(AT_FDCWD</et'],
    ['before the return', '9 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY)'],
    ['in the returned decoration', '9 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY) = 3</etc/pa'],
    ['after -1', '9 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY) = -1'],
    ['in the errno text', '9 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY) = -1 ENOENT (No such'],
  ])('skips and counts a line cut %s', (_n, line) => {
    expect(run([line])).toEqual({ records: [], skippedLines: 1 });
  });

  it('counts a last line without its newline as cut, whatever it looks like', () => {
    const ok = '9 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY) = 3';
    expect(parseStraceLog(ok + '\n', { cwd: '/' }).records).toHaveLength(1);
    expect(parseStraceLog(ok, { cwd: '/' })).toEqual({ records: [], skippedLines: 1 });
    const p = new StraceParser({ cwd: '/' });
    p.push(ok, false);
    expect(p.finish()).toEqual({ records: [], skippedLines: 1 });
  });

  it('never throws on any prefix of any recorded line', () => {
    for (const name of ['names-and-cwd.log', 'threads-and-names.log', 'sh-path.log', 'killed-mid-call.log']) {
      for (const line of load(name).split('\n')) {
        const step = line.length > 600 ? 97 : 1;
        for (let k = 0; k <= line.length; k += step) {
          const p = new StraceParser({ cwd: '/' });
          expect(() => {
            p.push(line.slice(0, k));
            p.finish();
          }).not.toThrow();
        }
      }
    }
  });

  it('records each distinct access once, with the first pid', () => {
    const line = (pid: number) => `${pid} openat(AT_FDCWD</>, "/etc/hosts", O_RDONLY) = 3</etc/hosts>`;
    expect(run([line(3), line(3), line(4)]).records).toEqual([{ pid: 3, op: 'open', path: '/etc/hosts', ok: true }]);
    // but a failure and a success, or two ops, are distinct
    expect(run(['3 execve("/x", [], 0x1) = -1 ENOENT (No such file or directory)', '3 execve("/x", [], 0x1) = 0', '3 stat("/x", 0x1) = 0']).records).toHaveLength(3);
  });
});
