import { judgeAnswer, type HttpRequestSpec } from './http-spec.js';

const MAX_BODY = 1024 * 1024;

/** Send one request and judge the answer; never throws (a refused connection is a failed attempt). */
export async function runHttpOnce(spec: HttpRequestSpec, target: { host: string; port: number }, timeoutMs: number, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const url = `http://${host}:${target.port}${spec.path}`;
  try {
    const res = await fetch(url, {
      method: spec.method,
      headers: spec.headers,
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    const body = await readCapped(res);
    const why = judgeAnswer(spec, { status: res.status, body });
    return why ? { ok: false, detail: `${spec.method} ${url}: ${why}` } : { ok: true, detail: `${spec.method} ${url}: ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { ok: false, detail: `${spec.method} ${url}: ${e.cause?.code ?? e.cause?.message ?? e.message}` };
  }
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= MAX_BODY) break;
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
}
