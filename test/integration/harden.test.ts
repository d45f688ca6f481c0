import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';
import { exportRootfs } from '../helpers/rootfs.js';

const madeTags: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'slim-harden-test-'));
afterAll(() => {
  removeImages(madeTags);
  rmSync(work, { recursive: true, force: true });
});

describe('--harden', () => {
  it('a root image gets a non-root user, no setuid bits, and passes its checks under its own seccomp profile and read-only', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:hardened-${port}`;
    madeTags.push(tag);
    const report = join(work, 'python.json');
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--http-port', String(port), '--http-probe', 'GET /health',
      '--harden', '--user', '1000:1000', '--include-bin', 'su', '--report', report, '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    const h = r.report!.harden!;
    const step = (name: string) => h.steps.find((s) => s.step === name)!;
    expect(step('setid')).toMatchObject({ result: 'done', paths: ['/usr/bin/su'] });
    expect(step('user')).toMatchObject({ result: 'done', detail: expect.stringMatching(/USER is now 1000:1000/) });
    expect(step('tools-used').paths).toEqual(expect.arrayContaining([expect.stringMatching(/^\/usr\/bin\/dash \(shell; /)]));
    expect(step('seccomp')).toMatchObject({ result: 'pass' });
    expect(h.seccompProfile).toBe(join(work, 'python.seccomp.json'));
    expect(h.readOnly.result).toBe('pass');

    const inspected = JSON.parse(docker(['image', 'inspect', tag]))[0].Config;
    expect(inspected.User).toBe('1000:1000');
    expect(inspected.Labels['io.slim.hardened']).toBe('true');
    const fs = await exportRootfs(tag);
    expect(fs.get('/usr/bin/su')?.mode).toBe(0o755);

    // The profile is Docker's format, allows what the app does and refuses what it never did.
    const profile = JSON.parse(readFileSync(h.seccompProfile!, 'utf8'));
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    const names: string[] = profile.syscalls[0].names;
    for (const s of ['execve', 'accept4', 'bind', 'listen']) expect(names).toContain(s);
    const opt = `seccomp=${h.seccompProfile}`;
    expect(docker(['run', '--rm', '--security-opt', opt, '--entrypoint', 'python3', tag, '-c', 'print(6*7)']).trim()).toBe('42');
    const refused = docker(['run', '--rm', '--security-opt', opt, '--entrypoint', 'python3', tag, '-c', 'import os\ntry:\n os.mkdir("/tmp/x")\nexcept OSError as e:\n print(e.errno)']).trim();
    expect(refused).toBe('1'); // EPERM: mkdir was never seen
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('a service that writes: the read-only check mounts tmpfs where it wrote, and says why that fails here', async () => {
    const port = freePort();
    const tag = `slim-test/writer-service:hardened-${port}`;
    madeTags.push(tag);
    const r = await runSlim(['build', fixtureTag('writer-service'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '--smoke', `curl -fsS http://127.0.0.1:${port}/health`,
      '--harden', '--seccomp-out', join(work, 'writer.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const h = r.report!.harden!;
    expect(h.steps.find((s) => s.step === 'user')).toMatchObject({ result: 'done', detail: 'runs as svc (not root)' });
    expect(h.readOnly.tmpfs).toContain('/var/lib/writer');
    // The tmpfs hides the seed files the app reads at start: reported, not fatal.
    expect(h.readOnly.result).toBe('fail');
    expect(h.steps.find((s) => s.step === 'read-only')).toMatchObject({ result: 'warning', detail: expect.stringMatching(/--tmpfs \/var\/lib\/writer: .*a tmpfs at \/var\/lib\/writer hides 2 entries of the image: mount a volume there instead/) });
    expect(r.report!.status).toBe('ok');
    expect(h.seccompProfile).toBe(join(work, 'writer.json'));
  });
});
