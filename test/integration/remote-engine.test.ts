import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, leftovers, removeImages } from '../helpers/engine.js';
import { fixtureTag } from '../helpers/fixtures.js';
import { freePort, runSlim } from '../helpers/slim.js';

/** Where the tests' own engine listens: the socket of DOCKER_HOST, or the default one. */
function engineTarget(): { path: string } | { host: string; port: number } {
  const h = process.env.DOCKER_HOST;
  if (!h || h.startsWith('unix://')) return { path: h ? h.slice('unix://'.length) : '/var/run/docker.sock' };
  const u = new URL(h.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 2375) };
}

/**
 * The engine served on TCP at 127.0.0.2, an address slim does not take for this machine: it
 * talks to it as to a remote engine (DOCKER_HOST=tcp://…), through the API alone, and reaches
 * the app at the engine's host, never at a container address.
 */
interface TcpEngine {
  dockerHost: string;
  connections: number;
  close(): Promise<void>;
}

async function tcpEngine(): Promise<TcpEngine> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = createServer((client) => {
    state.connections++;
    const upstream = connect(engineTarget());
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.2', resolve);
  });
  return {
    dockerHost: `tcp://127.0.0.2:${(server.address() as AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

let engine: TcpEngine;
const madeTags: string[] = [];
beforeAll(async () => {
  engine = await tcpEngine();
});
afterAll(async () => {
  await engine.close();
  removeImages(madeTags);
});

describe('a remote engine (DOCKER_HOST=tcp://…)', () => {
  it('builds, verifies at $SLIM_HOST and tags through the API alone, leaving nothing behind', async () => {
    const port = freePort();
    const tag = `slim-test/python-http:remote-${port}`;
    madeTags.push(tag);
    const smoke = `test "$SLIM_HOST" = 127.0.0.2 && curl -fsS --max-time 5 http://$SLIM_HOST:${port}/health | grep -q ok`;
    const r = await runSlim(['build', fixtureTag('python-http'), '--tag', tag, '--network', 'host', '-e', `PORT=${port}`, '-e', 'BIND=0.0.0.0', '--smoke', smoke, '--json'], { env: { DOCKER_HOST: engine.dockerHost } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.verify).toMatchObject({ original: 'pass', slim: 'pass' });
    expect(engine.connections).toBeGreaterThan(0);
    expect(JSON.parse(docker(['image', 'inspect', tag]))[0].Id).toBe(r.report!.output.id);
    expect(leftovers(r.runId)).toEqual({ containers: [], volumes: [] });
  });

  it('an engine address where nothing answers is a one-line error with a hint', async () => {
    const port = freePort();
    const r = await runSlim(['build', 'anything:1', '--smoke', 'true'], { env: { DOCKER_HOST: `tcp://127.0.0.2:${port}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^slim: error: .*tcp://127\\.0\\.0\\.2:${port}.*\\nslim: hint: .*DOCKER_HOST`));
  });
});
