import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A real registry (Debian's docker-registry, distribution 2.8) on a loopback port, with the auth asked for. */
export interface TestRegistry {
  host: string;
  port: number;
  /** Token requests the token service saw (scope strings), for bearer registries. */
  tokenScopes: string[];
  stop(): Promise<void>;
}

export type RegistryAuth = { kind: 'none' } | { kind: 'basic'; user: string; password: string } | { kind: 'token'; user: string; password: string };

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

export async function startRegistry(auth: RegistryAuth = { kind: 'none' }): Promise<TestRegistry> {
  if (!execFileSync('sh', ['-c', 'command -v docker-registry || true']).toString().trim()) {
    throw new Error('docker-registry is not installed: run scripts/setup.sh (it installs Debian\'s docker-registry)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'slim-registry-'));
  const tokenScopes: string[] = [];
  let tokenServer: Server | undefined;
  let authYaml = '';
  if (auth.kind === 'basic') {
    const line = execFileSync('htpasswd', ['-Bbn', auth.user, auth.password]).toString().trim();
    await writeFile(join(dir, 'htpasswd'), line + '\n');
    authYaml = `auth:\n  htpasswd:\n    realm: slim-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=slim-test-token'], { stdio: 'ignore' });
    const key = await readFile(join(dir, 'key.pem'), 'utf8');
    const certPem = await readFile(join(dir, 'cert.pem'), 'utf8');
    const certDer = new X509Certificate(certPem).raw.toString('base64');
    tokenServer = createServer((req, res) => issueToken(req, res, auth, key, certDer, tokenScopes));
    const tokenPort = await listen(tokenServer);
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: slim-test-registry\n    issuer: slim-test-issuer\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`;
  }
  const port = await freeLoopbackPort();
  const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`;
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (tokenServer) await new Promise((r) => tokenServer!.close(r));
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const r = request({ host: '127.0.0.1', port, path: '/v2/', method: 'GET' }, (res) => {
        res.resume();
        resolve(true);
      });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (up) break;
    if (i > 100 || child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, port, tokenScopes, stop };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The Docker token flow: Basic credentials in, a JWT signed by the key the registry trusts out. */
function issueToken(req: IncomingMessage, res: ServerResponse, auth: { user: string; password: string }, key: string, certDer: string, seen: string[]): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const given = (req.headers.authorization ?? '').replace(/^Basic /, '');
  if (Buffer.from(given, 'base64').toString() !== `${auth.user}:${auth.password}`) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
    return;
  }
  const scopes = url.searchParams.getAll('scope');
  seen.push(...scopes);
  const access = scopes.map((s) => {
    const [type, name, actions] = s.split(':');
    return { type, name, actions: (actions ?? '').split(',') };
  });
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = { iss: 'slim-test-issuer', sub: auth.user, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
  const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(signing).sign(key);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${signing}.${b64url(sig)}` }));
}

export interface FailingProxy {
  host: string;
  /** Requests that were cut off. */
  cut: number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a registry that cuts the connection of blob uploads midway (after
 * `afterBytes` of the body), the first `times` of them (Infinity: all): a registry failing mid-upload.
 */
export async function failingProxy(target: TestRegistry, opts: { times: number; afterBytes: number }): Promise<FailingProxy> {
  const state = { cut: 0 };
  const server = createServer((req, res) => {
    const isUpload = (req.method === 'PUT' || req.method === 'PATCH') && /\/blobs\/uploads\//.test(req.url ?? '') && Number(req.headers['content-length'] ?? 0) > opts.afterBytes;
    const cutThis = isUpload && state.cut < opts.times;
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    if (!cutThis) {
      req.pipe(upstream);
      return;
    }
    state.cut++;
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n <= opts.afterBytes) upstream.write(chunk);
      else {
        upstream.destroy();
        req.socket.destroy();
      }
    });
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    get cut() {
      return state.cut;
    },
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
