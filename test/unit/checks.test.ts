import { describe, expect, it } from 'vitest';
import { dig, judgeAnswer, parseInlineRequest, parseSpecFile } from '../../src/verify/http-spec.js';
import { defaultHttpPort, engineHost, portEnv, reachPort } from '../../src/verify/endpoint.js';
import type { ContainerNetwork } from '../../src/runtime/runtime.js';
import { withPorts } from '../../src/verify/checks.js';
import { diffOutputTrees } from '../../src/verify/output-tree.js';
import { toBuildOptions, type BuildFlags } from '../../src/cli/options.js';
import { compareRuns, baselineFailure, type Checked } from '../../src/pipeline/verify-run.js';
import type { Check } from '../../src/verify/checks.js';

describe('inline HTTP requests', () => {
  it('reads method, path and a body; JSON bodies get a content type', () => {
    expect(parseInlineRequest('/health')).toEqual({ method: 'GET', path: '/health', headers: {}, expect: {} });
    expect(parseInlineRequest('get /a?b=1')).toMatchObject({ method: 'GET', path: '/a?b=1' });
    expect(parseInlineRequest('POST /api/x {"a": 1}')).toEqual({ method: 'POST', path: '/api/x', headers: { 'content-type': 'application/json' }, body: '{"a": 1}', expect: {} });
    expect(parseInlineRequest('PUT /t plain text')).toEqual({ method: 'PUT', path: '/t', headers: {}, body: 'plain text', expect: {} });
  });

  it('rejects what is not METHOD /PATH', () => {
    expect(() => parseInlineRequest('health')).toThrow(/is not METHOD \/PATH/);
    expect(() => parseInlineRequest('FETCH /x')).toThrow(/unknown method FETCH/);
  });
});

describe('HTTP spec files', () => {
  it('YAML with a port, statuses, headers, an object body and expectations', () => {
    const reqs = parseSpecFile(`
port: 8080
requests:
  - path: /health
  - method: post
    path: /api/echo
    headers: { X-Token: abc }
    body: { a: 1 }
    status: [200, 201]
    contains: echo
    json: { "echo.a": 1 }
  - { path: /admin, port: 9090, status: 401 }
`, 's.yaml');
    expect(reqs).toEqual([
      { method: 'GET', path: '/health', headers: {}, port: 8080, expect: {} },
      { method: 'POST', path: '/api/echo', headers: { 'x-token': 'abc', 'content-type': 'application/json' }, body: '{"a":1}', port: 8080, expect: { status: [200, 201], contains: 'echo', json: { 'echo.a': 1 } } },
      { method: 'GET', path: '/admin', headers: {}, port: 9090, expect: { status: [401] } },
    ]);
  });

  it('JSON, a bare list', () => {
    expect(parseSpecFile('[{"path": "/x", "body": "raw"}]', 's.json')).toEqual([{ method: 'GET', path: '/x', headers: {}, body: 'raw', expect: {} }]);
  });

  it.each([
    ['not yaml', 'a: [', /s\.yaml is not valid YAML or JSON/],
    ['no requests', 'port: 80', /must hold a list of requests/],
    ['empty list', '[]', /must hold a list of requests/],
    ['no path', '- method: GET', /request 1: "path" must start with \//],
    ['relative path', '- path: health', /request 1: "path" must start with \//],
    ['unknown field', '- {path: /x, expect: 200}', /request 1: unknown field expect/],
    ['bad status', '- {path: /x, status: 999}', /"status" must be an HTTP status/],
    ['bad port', 'port: 70000\nrequests: [{path: /x}]', /port must be a port number/],
    ['bad method', '- {path: /x, method: FETCH}', /unknown method FETCH/],
    ['bad json', '- {path: /x, json: [1]}', /"json" must map dotted paths/],
  ])('rejects %s with the file and request named', (_name, text, message) => {
    expect(() => parseSpecFile(text, 's.yaml')).toThrow(message);
  });
});

describe('judging an answer', () => {
  const req = (expect: object) => ({ method: 'GET', path: '/', headers: {}, expect });
  it('any 2xx by default; listed statuses when given', () => {
    expect(judgeAnswer(req({}), { status: 204, body: '' })).toBeUndefined();
    expect(judgeAnswer(req({}), { status: 301, body: '' })).toBe('status 301, expected 2xx');
    expect(judgeAnswer(req({ status: [404] }), { status: 404, body: '' })).toBeUndefined();
    expect(judgeAnswer(req({ status: [200, 201] }), { status: 500, body: '' })).toBe('status 500, expected 200 or 201');
  });
  it('body text and JSON fields', () => {
    expect(judgeAnswer(req({ contains: 'ok' }), { status: 200, body: 'all ok' })).toBeUndefined();
    expect(judgeAnswer(req({ contains: 'ok' }), { status: 200, body: 'fine' })).toBe('the body does not contain "ok"');
    const json = req({ json: { 'a.b.1': 'y', 'n': null, 'obj': { k: [1] } } });
    expect(judgeAnswer(json, { status: 200, body: '{"a":{"b":["x","y"]},"n":null,"obj":{"k":[1]}}' })).toBeUndefined();
    expect(judgeAnswer(json, { status: 200, body: '{"a":{"b":["x","z"]},"n":null,"obj":{"k":[1]}}' })).toBe('a.b.1 is "z", expected "y"');
    expect(judgeAnswer(json, { status: 200, body: '<html>' })).toBe('the body is not JSON');
  });
  it('dig leads nowhere safely', () => {
    expect(dig({ a: [1] }, 'a.5')).toBeUndefined();
    expect(dig({ a: 1 }, 'a.b')).toBeUndefined();
    expect(dig({}, 'constructor')).toBeUndefined();
  });
});

describe('reaching a container port', () => {
  const local = { host: '127.0.0.1', local: true };
  const net = (n: Partial<ContainerNetwork>): ContainerNetwork => ({ mode: 'bridge', ports: {}, ...n });
  it('a published port first, on the engine host unless bound to an address', () => {
    expect(reachPort(net({ ip: '172.17.0.2', ports: { '80/tcp': [{ hostIp: '0.0.0.0', hostPort: '32768' }] } }), 80, local)).toEqual({ host: '127.0.0.1', port: 32768 });
    expect(reachPort(net({ ports: { '80/tcp': [{ hostIp: '127.0.0.5', hostPort: '8081' }] } }), 80, { host: 'engine.example', local: false })).toEqual({ host: '127.0.0.5', port: 8081 });
    expect(reachPort(net({ ports: { '80/tcp': [{ hostIp: '', hostPort: '9000' }] } }), 80, { host: 'engine.example', local: false })).toEqual({ host: 'engine.example', port: 9000 });
  });
  it('the host network, then the container address when the engine is here', () => {
    expect(reachPort(net({ mode: 'host' }), 8080, local)).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(reachPort(net({ ip: '172.17.0.2' }), 8080, local)).toEqual({ host: '172.17.0.2', port: 8080 });
  });
  it('a remote engine with an unpublished port is a usage error that says what to do', () => {
    expect(() => reachPort(net({ ip: '172.17.0.2' }), 8080, { host: 'h', local: false })).toThrow(/cannot reach port 8080/);
  });
  it('engine host from DOCKER_HOST', () => {
    expect(engineHost(undefined)).toEqual({ host: '127.0.0.1', local: true });
    expect(engineHost('unix:///run/docker.sock')).toEqual({ host: '127.0.0.1', local: true });
    expect(engineHost('tcp://10.1.2.3:2376')).toEqual({ host: '10.1.2.3', local: false });
    expect(engineHost('ssh://ci@build-host')).toEqual({ host: 'build-host', local: false });
    expect(engineHost('tcp://[::1]:2375')).toEqual({ host: '::1', local: true });
  });
  it('default port: published, else the first EXPOSE; ports for the smoke environment', () => {
    expect(defaultHttpPort(['127.0.0.1:9000:8080'], ['80/tcp'])).toBe(8080);
    expect(defaultHttpPort([], ['53/udp', '80/tcp'])).toBe(80);
    expect(defaultHttpPort([], [])).toBeUndefined();
    expect(portEnv(net({ mode: 'host' }), [8080, 9090], local)).toEqual({ SLIM_HOST: '127.0.0.1', SLIM_PORT: '8080', SLIM_PORT_8080: '8080', SLIM_PORT_9090: '9090' });
  });
  it('withPorts fills the HTTP port, or says to give one', () => {
    const http: Check = { kind: 'service', timeoutSeconds: 5, checks: [{ kind: 'http', name: 'GET /', request: { method: 'GET', path: '/', headers: {}, expect: {} } }] };
    expect(withPorts(http, ['8080/tcp'], [])).toEqual({ check: { ...http, httpPort: 8080 }, ports: [8080] });
    expect(withPorts({ ...http, httpPort: 3000 }, ['8080/tcp'], []).ports).toEqual([3000, 8080]);
    expect(() => withPorts(http, [], [])).toThrow(/an HTTP check needs a port/);
    expect(withPorts({ kind: 'job', compareOutputs: [] }, [], ['9000:90'])).toEqual({ check: { kind: 'job', compareOutputs: [] }, ports: [90] });
  });
});

describe('the check flags', () => {
  const flags = (f: Partial<BuildFlags>): BuildFlags => ({ smokeTimeout: '60', probe: 'auto', env: [], volume: [], addHost: [], publish: [], tmpfs: [], stopTimeout: '10', include: [], output: [], httpProbe: [], httpSpec: [], exec: [], compareOutput: [], verifyHttpProbe: [], verifyHttpSpec: [], verifyExec: [], repair: true, repairRounds: '3', ...f });
  it('no checks: a job; --compare-output goes with it', () => {
    const o = toBuildOptions('x', flags({ compareOutput: ['/out'] }));
    expect(o.check).toEqual({ kind: 'job', compareOutputs: ['/out'] });
    expect(o.verifyCheck).toBe(o.check);
    expect(o.repairRounds).toBe(3);
  });
  it('smoke, HTTP and exec checks in that order; --verify-* replace them for verification only', () => {
    const o = toBuildOptions('x', flags({ smoke: 'true', httpProbe: ['GET /'], exec: ['app --check'], verifyHttpProbe: ['GET /report'], httpPort: '8080' }));
    expect(o.check).toMatchObject({ kind: 'service', httpPort: 8080, checks: [{ kind: 'smoke', name: 'smoke: true' }, { kind: 'http', name: 'GET /' }, { kind: 'exec', name: 'exec: app --check', argv: ['app', '--check'] }] });
    expect(o.verifyCheck).toMatchObject({ kind: 'service', checks: [{ kind: 'http', name: 'GET /report' }] });
  });
  it.each([
    [{ compareOutput: ['/out'], smoke: 'true' }, /--compare-output is for jobs/],
    [{ compareOutput: ['out'] }, /absolute path/],
    [{ verifySmoke: 'true' }, /--verify-\* checks need a service/],
    [{ repairRounds: 'x' }, /--repair-rounds must be a whole number/],
    [{ httpPort: '0', smoke: 'true' }, /--http-port must be a port number/],
    [{ httpSpec: ['/nonexistent/spec.yaml'] }, /cannot read --http-spec \/nonexistent\/spec\.yaml: ENOENT/],
    [{ exec: [''] }, /--exec needs a command/],
  ])('rejects %o', (f, message) => {
    expect(() => toBuildOptions('x', flags(f as Partial<BuildFlags>))).toThrow(message);
  });
  it('--no-repair sets no rounds', () => {
    expect(toBuildOptions('x', flags({ repair: false })).repairRounds).toBe(0);
  });
});

describe('comparing the runs', () => {
  const run = (r: Partial<Checked>): Checked => ({ passed: true, summary: '', checks: [], stdout: Buffer.from(''), stderr: Buffer.from(''), output: Buffer.from(''), outputs: new Map(), seconds: 1, health: { result: 'none', detail: '' }, ...r });
  const job: Check = { kind: 'job', compareOutputs: ['/out'] };
  it('a job: exit code, stdout and every output file', () => {
    const tree = new Map([['out/a', 'file 644 3 abc']]);
    const original = run({ exitCode: 0, stdout: Buffer.from('hi'), outputs: new Map([['/out', tree]]) });
    expect(compareRuns(job, original, run({ exitCode: 0, stdout: Buffer.from('hi'), outputs: new Map([['/out', new Map(tree)]]) })).passed).toBe(true);
    const v = compareRuns(job, original, run({ exitCode: 0, stdout: Buffer.from('hi'), outputs: new Map([['/out', new Map([['out/a', 'file 644 3 abd']])]]) }));
    expect(v).toMatchObject({ passed: false, summary: 'output /out: out/a differs (content)' });
    expect(compareRuns(job, original, run({ exitCode: 1, stdout: Buffer.from('hi'), outputs: new Map([['/out', tree]]) })).summary).toMatch(/^exit code: exited 1, the original 0/);
    expect(compareRuns(job, original, run({ exitCode: 0, stdout: Buffer.from('ho'), outputs: new Map([['/out', tree]]) })).summary).toMatch(/^stdout: differs/);
    expect(compareRuns(job, original, run({ exitCode: 0, stdout: Buffer.from('hi'), outputs: new Map([['/out', undefined]]) })).summary).toBe('output /out: out/a is missing');
  });
  it('the baseline: a job that leaves nothing where asked, or a failed check', () => {
    expect(baselineFailure(job, run({ outputs: new Map([['/out', undefined]]) }))).toMatch(/left nothing at \/out/);
    expect(baselineFailure(job, run({ passed: false, summary: 'job exited with code 2' }))).toBe('job exited with code 2');
    expect(baselineFailure(job, run({ outputs: new Map([['/out', new Map()]]) }))).toBeUndefined();
  });
  it('a service: every check that passed on the original, and its HEALTHCHECK', () => {
    const svc: Check = { kind: 'service', timeoutSeconds: 5, checks: [] };
    const c = (name: string, passed: boolean, attempts = 1) => ({ name, kind: 'http' as const, passed, attempts, detail: passed ? 'ok' : 'status 500' });
    const original = run({ checks: [c('GET /', true), c('GET /r', true)], health: { result: 'pass', detail: '' } });
    const slim = run({ passed: false, checks: [c('GET /', false), c('GET /r', false, 0)], health: { result: 'none', detail: '' } });
    const v = compareRuns(svc, original, slim);
    expect(v.passed).toBe(false);
    expect(v.checks.map((x) => [x.name, x.slim])).toEqual([['GET /', 'fail'], ['GET /r', 'not-run'], ['HEALTHCHECK', 'not-run']]);
    const ok = compareRuns(svc, original, run({ checks: [c('GET /', true), c('GET /r', true)], health: { result: 'fail', detail: 'HEALTHCHECK exited 1' } }));
    expect(ok).toMatchObject({ passed: false, summary: 'HEALTHCHECK: HEALTHCHECK exited 1' });
  });
});

describe('output trees', () => {
  it('names missing, extra and changed entries, and caps the list', () => {
    const a = new Map([['o/a', 'file 644 1 x'], ['o/b', 'symlink -> a'], ['o/c', 'directory 755']]);
    const b = new Map([['o/a', 'file 600 1 x'], ['o/d', 'file 644 0 e']]);
    expect(diffOutputTrees(a, b)).toEqual(['o/a differs (mode 600 vs 644)', 'o/b is missing', 'o/c is missing', 'o/d is extra']);
    expect(diffOutputTrees(new Map([['o/a', 'file 644 3 x']]), new Map([['o/a', 'file 600 5 y']]))).toEqual(['o/a differs (mode 600 vs 644, content, 5 vs 3 bytes)']);
    expect(diffOutputTrees(a, new Map([...a, ['o/b', 'symlink -> b']]))).toEqual(['o/b differs (link target b vs a)']);
    expect(diffOutputTrees(a, new Map([...a, ['o/c', 'file 644 0 e']]))).toEqual(['o/c differs (type file vs directory)']);
    expect(diffOutputTrees(a, new Map(), 2)).toEqual(['o/a is missing', 'o/b is missing', '… and 1 more']);
  });
});
