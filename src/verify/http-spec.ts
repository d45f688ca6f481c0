import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { SlimError, UsageError } from '../errors.js';

/** One HTTP request and what its answer must look like. */
export interface HttpRequestSpec {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Container port; undefined: the check's default port. */
  port?: number;
  expect: {
    /** Accepted statuses; undefined: any 2xx. */
    status?: number[];
    /** A substring of the body. */
    contains?: string;
    /** Dotted paths into a JSON body (`items.0.name`) and the values they must hold. */
    json?: Record<string, unknown>;
  };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function usage(message: string): SlimError {
  return new UsageError(message);
}

/** `GET /health`, `/health`, `POST /api/x {"a":1}`: method, path, and an optional body (JSON sets the content type). */
export function parseInlineRequest(text: string, flag = '--http-probe'): HttpRequestSpec {
  const m = /^\s*(?:([A-Za-z]+)\s+)?(\/\S*)(?:\s+([\s\S]*\S))?\s*$/.exec(text);
  if (!m) throw usage(`${flag} "${text}" is not METHOD /PATH [BODY]`);
  const method = (m[1] ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw usage(`${flag} "${text}": unknown method ${m[1]}`);
  const body = m[3];
  return { method, path: m[2]!, headers: body !== undefined && isJson(body) ? { 'content-type': 'application/json' } : {}, ...(body !== undefined ? { body } : {}), expect: {} };
}

/**
 * A spec file (YAML or JSON): a list of requests, or `{ port, requests }`. Each request has
 * `path` and optionally `method`, `headers`, `body` (text, or an object sent as JSON), `port`,
 * `status` (a number or a list), `contains`, `json` (dotted path -> value).
 */
export function parseSpecFile(text: string, file: string): HttpRequestSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw usage(`${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const top = Array.isArray(doc) ? { requests: doc } : doc;
  if (!isObject(top) || !Array.isArray(top.requests) || top.requests.length === 0) throw usage(`${file} must hold a list of requests, or { port, requests: [...] }`);
  const port = top.port === undefined ? undefined : portOf(top.port, `${file}: port`);
  return top.requests.map((r, i) => {
    const where = `${file}: request ${i + 1}`;
    if (!isObject(r)) throw usage(`${where} must be a mapping with at least "path"`);
    const unknown = Object.keys(r).filter((k) => !['name', 'method', 'path', 'headers', 'body', 'port', 'status', 'contains', 'json'].includes(k));
    if (unknown.length) throw usage(`${where}: unknown field ${unknown.join(', ')}`);
    if (typeof r.path !== 'string' || !r.path.startsWith('/')) throw usage(`${where}: "path" must start with /`);
    const method = r.method === undefined ? 'GET' : String(r.method).toUpperCase();
    if (!METHODS.has(method)) throw usage(`${where}: unknown method ${String(r.method)}`);
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (!isObject(r.headers)) throw usage(`${where}: "headers" must be a mapping`);
      for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = String(v);
    }
    let body: string | undefined;
    if (typeof r.body === 'string') body = r.body;
    else if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers['content-type'] ??= 'application/json';
    }
    const status = r.status === undefined ? undefined : (Array.isArray(r.status) ? r.status : [r.status]).map((s) => statusOf(s, where));
    if (r.contains !== undefined && typeof r.contains !== 'string') throw usage(`${where}: "contains" must be text`);
    if (r.json !== undefined && !isObject(r.json)) throw usage(`${where}: "json" must map dotted paths to values`);
    const reqPort = r.port === undefined ? port : portOf(r.port, `${where}: port`);
    return {
      method,
      path: r.path,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(reqPort !== undefined ? { port: reqPort } : {}),
      expect: { ...(status ? { status } : {}), ...(r.contains !== undefined ? { contains: r.contains } : {}), ...(r.json ? { json: r.json } : {}) },
    };
  });
}

export function describeRequest(r: HttpRequestSpec): string {
  return `${r.method} ${r.path}`;
}

/** Does the answer meet the spec? `undefined` when it does, else why not, in a few words. */
export function judgeAnswer(spec: HttpRequestSpec, answer: HttpAnswer): string | undefined {
  const okStatus = spec.expect.status ? spec.expect.status.includes(answer.status) : answer.status >= 200 && answer.status < 300;
  if (!okStatus) return `status ${answer.status}, expected ${spec.expect.status?.join(' or ') ?? '2xx'}`;
  if (spec.expect.contains !== undefined && !answer.body.includes(spec.expect.contains)) return `the body does not contain ${JSON.stringify(spec.expect.contains)}`;
  if (spec.expect.json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      return 'the body is not JSON';
    }
    for (const [path, want] of Object.entries(spec.expect.json)) {
      const got = dig(parsed, path);
      if (!isDeepStrictEqual(got, want)) return `${path} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    }
  }
  return undefined;
}

/** `a.b.0.c` into parsed JSON; undefined where the path leads nowhere. */
export function dig(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(key)) cur = cur[Number(key)];
    else if (isObject(cur) && Object.hasOwn(cur, key)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function portOf(v: unknown, where: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usage(`${where} must be a port number, not ${JSON.stringify(v)}`);
  return n;
}

function statusOf(v: unknown, where: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > 599) throw usage(`${where}: "status" must be an HTTP status, not ${JSON.stringify(v)}`);
  return n;
}
