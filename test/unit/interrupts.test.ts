import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scope } from '../../src/runtime/scope.js';
import { elide, shortenMessage } from '../../src/util/elide.js';
import { checkOutputPaths, parseOutputRef, writeOutput } from '../../src/sinks/output.js';
import { mkBuiltImage } from '../helpers/built-image.js';
import { EngineCalls } from '../../src/runtime/engine-call.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { InterruptedError, SlimError } from '../../src/errors.js';

describe('long values in messages', () => {
  it('are middle-elided to about 200 characters, start and end kept', () => {
    const name = `registry.example.com/${'a'.repeat(5000)}:tag-end`;
    const e = elide(name);
    expect(e.length).toBeLessThanOrEqual(200);
    expect(e.startsWith('registry.example.com/aaa')).toBe(true);
    expect(e.endsWith('aaa:tag-end')).toBe(true);
    expect(e).toMatch(/…\(\d+ more\)…/);
    expect(elide('short')).toBe('short');
  });

  it('a message keeps its words and has each long one shortened; each line stays short', () => {
    const msg = `image ${'x'.repeat(5000)} is not in the engine`;
    const s = shortenMessage(msg);
    expect(s.startsWith('image xxx')).toBe(true);
    expect(s.endsWith(' is not in the engine')).toBe(true);
    expect(s.length).toBeLessThan(260);
    const words = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ');
    expect(shortenMessage(words).length).toBeLessThanOrEqual(600);
    expect(shortenMessage('a\nb')).toBe('a\nb');
  });
});

describe('output paths are checked before the build', () => {
  const check = (s: string) => () => checkOutputPaths([parseOutputRef(s)]);
  const usage = (s: string, message: RegExp) => {
    let err: unknown;
    try {
      check(s)();
    } catch (e) {
      err = e;
    }
    expect(err, s).toBeInstanceOf(SlimError);
    expect((err as SlimError).exitCode, s).toBe(2);
    expect((err as SlimError).message, s).toMatch(message);
    expect((err as SlimError).message, s).not.toMatch(/\n/);
  };

  it('nothing under /proc or /sys, nothing through a link to them', () => {
    usage('oci:/proc/x', /--output oci:\/proc\/x: \/proc is a kernel filesystem/);
    usage('oci-archive:/proc/x/y.tar', /\/proc is a kernel filesystem/);
    usage('docker-archive:/sys/kernel/x.tar', /\/sys is a kernel filesystem/);
    const dir = mkdtempSync(join(tmpdir(), 'slim-unit-'));
    try {
      symlinkSync('/proc/self', join(dir, 'p'));
      usage(`oci:${join(dir, 'p', 'x')}`, /on \/proc, a kernel filesystem/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file where a layout goes, a directory where a file goes, an unwritable place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slim-unit-'));
    try {
      writeFileSync(join(dir, 'file'), 'x');
      usage(`oci:${join(dir, 'file')}`, /exists and is not a directory/);
      usage(`oci:${join(dir, 'file', 'sub')}`, /is not a directory/);
      usage(`oci-archive:${dir}`, /is a directory/);
      usage(`docker-archive:${join(dir, 'file', 'x.tar')}`, /is not a directory/);
      // Made on the way (mkdir -p), added to, or written next to: all fine.
      expect(check(`oci:${join(dir, 'new', 'layout')}:v1`)).not.toThrow();
      expect(check(`oci:${dir}`)).not.toThrow();
      expect(check(`oci-archive:${join(dir, 'a', 'b.tar')}`)).not.toThrow();
      expect(check('docker')).not.toThrow();
      expect(check('registry:127.0.0.1:5000/a/b:c')).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an output write that is aborted leaves nothing', () => {
  it.each(['docker-archive', 'oci-archive', 'oci'] as const)('%s: no file, no temp file, no half layout', async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'slim-unit-'));
    const out = mkdtempSync(join(tmpdir(), 'slim-unit-out-'));
    try {
      const img = await mkBuiltImage(dir, { randomSize: 8 * 1024 * 1024 });
      const target = join(out, kind === 'oci' ? 'layout' : 'image.tar');
      const ctl = new AbortController();
      const writing = writeOutput(parseOutputRef(`${kind}:${target}`) as Parameters<typeof writeOutput>[0], img, 'x:y', ctl.signal);
      setImmediate(() => ctl.abort(new InterruptedError('SIGINT')));
      await expect(writing).rejects.toBeInstanceOf(InterruptedError);
      expect(readdirSync(out)).toEqual([]);
      // And with the signal aborted before: nothing is started.
      await expect(writeOutput(parseOutputRef(`${kind}:${target}`) as Parameters<typeof writeOutput>[0], img, 'x:y', ctl.signal)).rejects.toBeInstanceOf(InterruptedError);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/** A scope whose third signal is recorded instead of exiting the test runner. */
function scopeForTest() {
  const said: string[] = [];
  let forced = 0;
  const scope = new Scope({ handleSignals: true, say: (l) => void said.push(l), force: () => void forced++ });
  return { scope, said, forced: () => forced };
}

describe('signals and cleanup', () => {
  it('the first signal aborts; a second during cleanup is reported and cleanup finishes; a third forces and says what is left', async () => {
    const listeners = process.listenerCount('SIGINT');
    const { scope, said, forced } = scopeForTest();
    const done: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    scope.defer('temp dir /tmp/slim-x', () => void done.push('temp dir'));
    scope.defer('volume slim-probe-1', () => void done.push('volume'));
    scope.defer('probe container abc', async () => {
      await slow;
      done.push('container');
    });
    process.emit('SIGINT', 'SIGINT');
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBeInstanceOf(InterruptedError);
    const disposing = scope.dispose();
    process.emit('SIGINT', 'SIGINT');
    expect(said).toEqual(['slim: cleanup in progress; Ctrl-C again to force, which leaves: probe container abc, volume slim-probe-1, temp dir /tmp/slim-x']);
    expect(forced()).toBe(0);
    release();
    expect(await disposing).toEqual([]);
    expect(done).toEqual(['container', 'volume', 'temp dir']);
    // Handlers are gone once cleanup ran.
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });

  it('a third signal forces the exit and names what is not removed yet', async () => {
    const { scope, said, forced } = scopeForTest();
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    scope.defer('temp dir /tmp/slim-y', () => {});
    scope.defer('verify-slim container', () => slow);
    process.emit('SIGINT', 'SIGINT');
    const disposing = scope.dispose();
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGTERM', 'SIGTERM');
    expect(forced()).toBe(1);
    expect(said[1]).toBe('slim: forced to exit by SIGTERM; left behind: verify-slim container, temp dir /tmp/slim-y');
    release();
    await disposing;
  });

  it('failed cleanups are returned with the resource they were for, and the others still run', async () => {
    const scope = new Scope();
    const ran: string[] = [];
    scope.defer('a', () => void ran.push('a'));
    scope.defer('volume v', () => {
      throw new Error('in use');
    });
    const failures = await scope.dispose();
    expect(ran).toEqual(['a']);
    expect(failures.map((f) => [(f as Error & { resource?: string }).resource, f.message])).toEqual([['volume v', 'cleanup of volume v failed: in use']]);
  });

  it('a scope that was interrupted makes no temp dir', async () => {
    const scope = new Scope();
    scope.interrupt('SIGINT');
    await expect(scope.tempDir()).rejects.toBeInstanceOf(InterruptedError);
    expect(await scope.dispose()).toEqual([]);
  });
});

/** A TCP listener that accepts and never answers: an engine endpoint that hangs. */
async function silentListener(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.on('data', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

describe('engine requests are bounded and abortable', () => {
  it('a request whose answer does not start in time fails naming the endpoint', async () => {
    const calls = new EngineCalls('tcp://127.0.0.1:1', 'DOCKER_HOST');
    const never = () => new Promise<never>(() => {});
    await expect(calls.call('inspecting image x', never, { timeoutMs: 50 })).rejects.toThrow(/the container engine at tcp:\/\/127.0.0.1:1 \(DOCKER_HOST\) did not answer inspecting image x within 0.05 s/);
  });

  it("the run's signal aborts a call without a timeout (a wait), but not a cleanup call", async () => {
    const ctl = new AbortController();
    const calls = new EngineCalls('unix:///x.sock', undefined, ctl.signal);
    const waiting = calls.call('waiting', () => new Promise<never>(() => {}));
    ctl.abort(new InterruptedError('SIGINT'));
    await expect(waiting).rejects.toBeInstanceOf(InterruptedError);
    await expect(calls.call('removing', async () => 'removed', { abortable: false })).resolves.toBe('removed');
    await expect(calls.call('creating', async () => 'created')).rejects.toBeInstanceOf(InterruptedError);
  });

  it('against a listener that never answers: ping fails in its bound, and an abort ends it at once', async () => {
    const { port, server } = await silentListener();
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    try {
      const ctl = new AbortController();
      const rt = new DockerRuntime({ signal: ctl.signal });
      const t = Date.now();
      setTimeout(() => ctl.abort(new InterruptedError('SIGINT')), 200);
      await expect(rt.ping()).rejects.toBeInstanceOf(InterruptedError);
      expect(Date.now() - t).toBeLessThan(10_000);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
      server.close();
    }
  });
});
