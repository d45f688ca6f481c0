import { afterEach, describe, expect, it } from 'vitest';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import { Selection } from '../../src/closure/selection.js';
import { dropUnusedTools, setidFiles, toolKind } from '../../src/harden/tools.js';
import { parseSyscallSummary, seccompProfile, RUNTIME_BASELINE } from '../../src/harden/seccomp.js';
import { suggestTmpfs } from '../../src/harden/read-only.js';
import { planPack } from '../../src/pack/plan.js';
import type { AccessRecord } from '../../src/trace/record.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

const tree: Spec[] = [
  { path: 'usr/' }, { path: 'usr/bin/' },
  { path: 'usr/bin/dash', body: 'sh', mode: 0o755 },
  { path: 'usr/bin/sh', type: 'symlink', linkname: 'dash' },
  { path: 'usr/bin/bash', body: 'bash', mode: 0o755 },
  { path: 'usr/bin/rbash', type: 'symlink', linkname: 'bash' },
  { path: 'usr/bin/apt-get', body: 'apt', mode: 0o755 },
  { path: 'usr/bin/x86_64-linux-gnu-gcc-12', body: 'gcc', mode: 0o755 },
  { path: 'usr/bin/su', body: 'su', mode: 0o4755 },
  { path: 'usr/bin/wall', body: 'wall', mode: 0o2755, gid: 5 },
  { path: 'usr/share/' }, { path: 'usr/share/bash/' }, { path: 'usr/share/bash/sh', body: 'not a tool: not in a bin dir' },
];

describe('hardening the content', () => {
  it('names shells, package managers and compilers in bin directories only', () => {
    expect(toolKind('/usr/bin/bash')).toBe('shell');
    expect(toolKind('/bin/busybox')).toBe('shell');
    expect(toolKind('/usr/bin/apt-get')).toBe('package manager');
    expect(toolKind('/usr/local/bin/pip3.11')).toBe('package manager');
    expect(toolKind('/usr/bin/x86_64-linux-gnu-gcc-12')).toBe('compiler');
    expect(toolKind('/usr/bin/python3')).toBeUndefined();
    expect(toolKind('/usr/share/bash/sh')).toBeUndefined();
  });

  it('drops the tools only a preset or a package kept, with their links; keeps what the app runs, saying why', async () => {
    const r = await readLayers([await mkLayer(tree)]);
    cleanups.push(r.cleanup);
    const sel = new Selection();
    sel.add('/usr/bin/dash', { why: 'traced' });
    sel.add('/usr/bin/sh', { why: 'symlink', from: '/bin/sh' });
    sel.add('/usr/bin/bash', { why: 'package', from: 'bash' });
    sel.add('/usr/bin/rbash', { why: 'package', from: 'bash' });
    sel.add('/usr/bin/apt-get', { why: 'keep', from: 'certs' });
    sel.add('/usr/bin/x86_64-linux-gnu-gcc-12', { why: 'include', from: '--include-bin gcc' });
    sel.add('/usr/share/bash/sh', { why: 'package', from: 'bash' });
    const { removed, kept } = dropUnusedTools(r.index, sel);
    expect(removed.map((x) => [x.path, x.kind])).toEqual([['/usr/bin/apt-get', 'package manager'], ['/usr/bin/bash', 'shell'], ['/usr/bin/rbash', 'shell']]);
    expect(kept.map((x) => [x.path, x.why])).toEqual([['/usr/bin/dash', 'traced'], ['/usr/bin/sh', 'symlink from /bin/sh'], ['/usr/bin/x86_64-linux-gnu-gcc-12', 'include from --include-bin gcc']]);
    expect(sel.has('/usr/bin/bash')).toBe(false);
    expect(sel.has('/usr/share/bash/sh')).toBe(true);
  });

  it('strips setuid and setgid bits in the plan, and sets the user', async () => {
    const r = await readLayers([await mkLayer(tree)]);
    cleanups.push(r.cleanup);
    const sel = new Selection();
    for (const p of ['/usr/bin/su', '/usr/bin/wall', '/usr/bin/dash']) sel.add(p, { why: 'traced' });
    expect(setidFiles(r.index, sel)).toEqual(['/usr/bin/su', '/usr/bin/wall']);
    const cfg = { architecture: 'amd64', os: 'linux', config: { User: '' }, rootfs: { type: 'layers' as const, diff_ids: [] } };
    const provenance = { sourceName: 'x', sourceDigest: 'sha256:' + '0'.repeat(64), slimVersion: '0', probe: 'strace' };
    const plan = planPack(r.index, sel, cfg, { provenance, harden: { stripSetid: true, user: '1000:1000' } });
    expect(plan.entries.filter((e) => e.entry.kind === 'file').map((e) => [e.entry.path, e.entry.meta.mode.toString(8)])).toEqual([['/usr/bin/dash', '755'], ['/usr/bin/su', '755'], ['/usr/bin/wall', '755']]);
    expect(plan.config.config?.User).toBe('1000:1000');
    expect(plan.config.config?.Labels?.['io.slim.hardened']).toBe('true');
    const plain = planPack(r.index, sel, cfg, { provenance });
    expect(plain.entries.find((e) => e.entry.path === '/usr/bin/su')!.entry.meta.mode).toBe(0o4755);
  });
});

describe('seccomp and read-only', () => {
  it('reads the system call names out of strace -c tables', () => {
    const table = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000040          20         2           read
 30.00    0.000030           3        10         4 openat
  0.00    0.000000           0         1           clock_nanosleep
------ ----------- ----------- --------- --------- ----------------
100.00    0.000100                    13         4 total
`;
    expect(parseSyscallSummary(table + '\n' + table.replace('read', 'pread64'))).toEqual(['clock_nanosleep', 'openat', 'pread64', 'read']);
    expect(parseSyscallSummary('strace: Process 12 attached\n')).toEqual([]);
  });

  it('allows what was seen plus what the runtime needs, and refuses the rest with EPERM', () => {
    const p = seccompProfile(['openat', 'epoll_wait', 'accept4'], 'amd64');
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toContain('SCMP_ARCH_X86_64');
    const names = p.syscalls[0]!.names;
    expect(names).toContain('accept4');
    expect(names).toContain('execve');
    expect(names).not.toContain('mkdir');
    expect(names.length).toBe(new Set([...RUNTIME_BASELINE, 'epoll_wait', 'accept4']).size);
    expect([...names].sort()).toEqual(names);
  });

  it('suggests tmpfs mounts where the app wrote, the outermost of nested ones, never / or volumes', () => {
    const rec = (op: AccessRecord['op'], path: string, ok = true): AccessRecord => ({ pid: 1, op, path, ok, via: 'strace' });
    expect(suggestTmpfs([
      rec('create', '/var/lib/app/state.db'),
      rec('create', '/var/lib/app/spool/1'),
      rec('write', '/tmp/x'),
      rec('create', '/pidfile'),
      rec('create', '/data/out.bin'),
      rec('create', '/run/failed', false),
      rec('open', '/etc/passwd'),
    ], ['/data'])).toEqual(['/tmp', '/var/lib/app']);
  });
});
