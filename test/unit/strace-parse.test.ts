import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStraceLog, StraceParser, unescape } from '../../src/trace/strace-parse.js';
import type { AccessRecord } from '../../src/trace/record.js';

const recorded = readFileSync(new URL('./data/strace/names-and-cwd.log', import.meta.url), 'latin1');
const pick = (rs: AccessRecord[], pred: (r: AccessRecord) => boolean) => rs.filter(pred).map(({ pid, op, path, resolved, ok, err }) => ({ pid, op, path, ...(resolved ? { resolved } : {}), ok, ...(err ? { err } : {}) }));

describe('strace log parser on a recorded trace (strace 6.1 -f -y)', () => {
  const { records, skippedLines } = parseStraceLog(recorded, { cwd: '/' });

  it('decodes names with spaces, quotes, backslashes, newlines and non-UTF-8 bytes', () => {
    expect(pick(records, (r) => r.pid === 17512 && r.op === 'open')).toEqual([
      { pid: 17512, op: 'open', path: '/tmp/st2/a b', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/q"uote', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/caf\xe9', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/new\nline', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/back\\slash', ok: true },
      { pid: 17512, op: 'open', path: '/tmp/st2/link', resolved: '/tmp/st2/a b', ok: true },
    ]);
  });

  it('joins unfinished and resumed calls and records execs of forked children', () => {
    expect(pick(records, (r) => r.op === 'exec')).toEqual([
      { pid: 17511, op: 'exec', path: '/usr/bin/sh', ok: true },
      { pid: 17512, op: 'exec', path: '/usr/bin/cat', ok: true },
    ]);
  });

  it('follows chdir and resolves relative paths against the directory fd', () => {
    // "../a b" from /tmp/st2/sub is the file pid 17512 opened already: one record per distinct access.
    expect(pick(records, (r) => r.pid === 17513)).toEqual([{ pid: 17513, op: 'open', path: '/tmp/st2/sub/nothere', ok: false, err: 'ENOENT' }]);
    expect(pick(records, (r) => r.op === 'chdir')).toContainEqual({ pid: 17511, op: 'chdir', path: '/tmp/st2/sub', ok: true });
  });

  it('skips the truncated last line and counts it, without throwing', () => {
    expect(skippedLines).toBe(1);
    expect(records.some((r) => r.path.startsWith('/etc/pass'))).toBe(false);
  });

  it('lists directories opened with O_DIRECTORY', () => {
    expect(pick(records, (r) => r.op === 'list')).toContainEqual({ pid: 17511, op: 'list', path: '/tmp/st2', ok: true });
  });
});

describe('strace log parser, line by line', () => {
  const parse = (lines: string[], cwd = '/app') => {
    const p = new StraceParser({ cwd });
    for (const l of lines) p.push(l);
    return p.finish();
  };

  it.each([
    ['stat', '5 newfstatat(AT_FDCWD</app>, "lib/x.py", 0x7ffd, 0) = -1 ENOENT (No such file or directory)', { op: 'stat', path: '/app/lib/x.py', ok: false, err: 'ENOENT' }],
    ['access', '5 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)', { op: 'access', path: '/etc/ld.so.preload', ok: false, err: 'ENOENT' }],
    ['readlink', '5 readlink("/proc/self/exe", "/usr/bin/python3.11", 4096) = 19', { op: 'readlink', path: '/proc/self/exe', ok: true }],
    ['readlinkat', '5 readlinkat(AT_FDCWD</app>, "current", "v2", 4095) = 2', { op: 'readlink', path: '/app/current', ok: true }],
    ['create', '5 openat(AT_FDCWD</app>, "data/new.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 3</app/data/new.db>', { op: 'create', path: '/app/data/new.db', ok: true }],
    ['write', '5 openat(AT_FDCWD</app>, "/var/log/x", O_WRONLY|O_APPEND) = 4</var/log/x>', { op: 'write', path: '/var/log/x', ok: true }],
    ['mkdir', '5 mkdir("/tmp/cache", 0700) = 0', { op: 'create', path: '/tmp/cache', ok: true }],
    ['statx relative', '5 statx(3</usr/lib/python3.11>, "json", AT_STATX_SYNC_AS_STAT, STATX_ALL, {...}) = 0', { op: 'stat', path: '/usr/lib/python3.11/json', ok: true }],
    ['exec failure', '5 execve("/usr/local/bin/node", ["node"], 0x7ff /* 3 vars */) = -1 ENOENT (No such file or directory)', { op: 'exec', path: '/usr/local/bin/node', ok: false, err: 'ENOENT' }],
    ['hex escape', '5 open("/srv/\\x66ile", O_RDONLY) = 3</srv/file>', { op: 'open', path: '/srv/file', ok: true }],
    ['deleted fd decoration', '5 openat(3</tmp/gone (deleted)>, "x", O_RDONLY) = -1 ENOENT (No such file or directory)', { op: 'open', path: '/tmp/gone/x', ok: false, err: 'ENOENT' }],
  ])('%s', (_name, line, want) => {
    expect(parse([line]).records).toEqual([{ pid: 5, ...want, via: 'strace' }]);
  });

  it('gives a forked child its parent cwd at fork time', () => {
    const r = parse([
      '10 chdir("/srv") = 0',
      '10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 11',
      '10 chdir("/") = 0',
      '11 stat("conf", 0x7ffc) = 0',
      '11 fchdir(3</etc>) = 0',
      '11 access("hosts", F_OK) = 0',
    ]);
    expect(r.records.filter((x) => x.pid === 11).map((x) => x.path)).toEqual(['/srv/conf', '/etc/hosts']);
  });

  it('records both paths of a rename and the new path of a symlink', () => {
    const r = parse(['7 rename("a.tmp", "a") = 0', '7 symlink("../target", "/app/ln") = 0']);
    expect(r.records.map((x) => [x.op, x.path])).toEqual([
      ['write', '/app/a.tmp'],
      ['create', '/app/a'],
      ['create', '/app/ln'],
    ]);
  });

  it('skips strings strace cut short and pointer arguments', () => {
    const r = parse(['8 openat(AT_FDCWD</>, "/very/long/pa"..., O_RDONLY) = 3</very/long/path>', '8 utimensat(4</x>, NULL, NULL, 0) = 0']);
    expect(r.records).toEqual([]);
  });

  it('ignores signals and exits, counts garbage and calls left unfinished at the end', () => {
    const r = parse(['9 --- SIGCHLD {si_signo=SIGCHLD} ---', '9 +++ killed by SIGKILL +++', 'not a trace line', '9 openat(AT_FDCWD</>, "/x", O_RDONLY <unfinished ...>']);
    expect(r.records).toEqual([]);
    expect(r.skippedLines).toBe(2);
  });

  it('records each distinct access once', () => {
    const line = '3 openat(AT_FDCWD</>, "/etc/hosts", O_RDONLY) = 3</etc/hosts>';
    expect(parse([line, line, line]).records).toHaveLength(1);
  });
});

describe('unescape', () => {
  it('decodes every C escape strace writes into bytes', () => {
    expect(unescape('\\a\\b\\t\\n\\v\\f\\r\\"\\\\\\0\\177\\377\\x41')).toBe('\x07\b\t\n\v\f\r"\\\x00\x7f\xffA');
  });
});
