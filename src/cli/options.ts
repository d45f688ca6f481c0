import { SlimError, ExitCode } from '../errors.js';
import type { BuildOptions } from '../pipeline/build.js';
import type { ProbeChoice } from '../probe/select-probe.js';
import { parseOutputRef } from '../sinks/output.js';

/** The flags of `slim build` as commander hands them over. */
export interface BuildFlags {
  tag?: string;
  smoke?: string;
  smokeTimeout: string;
  probe: string;
  network?: string;
  env: string[];
  volume: string[];
  addHost: string[];
  publish: string[];
  user?: string;
  entrypoint?: string;
  cmd?: string;
  workdir?: string;
  readOnly?: boolean;
  tmpfs: string[];
  stopTimeout: string;
  include: string[];
  trace?: string;
  traceOut?: string;
  output: string[];
}

export const DEFAULTS = { smokeTimeout: '60', stopTimeout: '10', probe: 'auto' } as const;

function usage(message: string, hint?: string): SlimError {
  return new SlimError(message, { code: 'USAGE', exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
}

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw usage(`${flag} must be a positive number of seconds, not "${v}"`);
  return n;
}

/** `["a","b"]` (exec form) or shell-like words with quotes; the empty string means an empty list. */
export function parseCommand(flag: string, v: string): string[] {
  const s = v.trim();
  if (s.startsWith('[')) {
    try {
      const arr = JSON.parse(s) as unknown;
      if (Array.isArray(arr) && arr.every((x) => typeof x === 'string')) return arr;
    } catch {
      /* reported below */
    }
    throw usage(`${flag} looks like a JSON array but is not one of strings: ${v}`);
  }
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw usage(`${flag} has an unclosed ${quote} quote: ${v}`);
  if (inWord) words.push(cur);
  return words;
}

/** `-e KEY` takes KEY from slim's own environment, as `docker run -e KEY` does. */
function envFlags(values: string[]): string[] {
  return values.flatMap((kv) => {
    if (kv.includes('=')) return [kv];
    const v = process.env[kv];
    return v === undefined ? [] : [`${kv}=${v}`];
  });
}

export function toBuildOptions(image: string, f: BuildFlags): BuildOptions {
  const probes: ProbeChoice[] = ['auto', 'strace', 'fanotify', 'both'];
  if (!probes.includes(f.probe as ProbeChoice)) throw usage(`--probe must be one of ${probes.join(', ')}, not "${f.probe}"`);
  const epochText = process.env.SOURCE_DATE_EPOCH;
  let epoch: number | undefined;
  if (epochText !== undefined && epochText !== '') {
    epoch = Number(epochText);
    if (!Number.isInteger(epoch) || epoch < 0) throw usage(`SOURCE_DATE_EPOCH must be a whole number of seconds, not "${epochText}"`);
  }
  for (const inc of f.include) if (!inc.startsWith('/')) throw usage(`--include takes absolute paths inside the image, not "${inc}"`);
  return {
    image,
    ...(f.tag ? { tag: f.tag } : {}),
    settings: {
      ...(f.network ? { network: f.network } : {}),
      env: envFlags(f.env),
      volumes: f.volume,
      addHosts: f.addHost,
      publish: f.publish,
      ...(f.user !== undefined ? { user: f.user } : {}),
      ...(f.entrypoint !== undefined ? { entrypoint: parseCommand('--entrypoint', f.entrypoint) } : {}),
      ...(f.cmd !== undefined ? { cmd: parseCommand('--cmd', f.cmd) } : {}),
      ...(f.workdir ? { workdir: f.workdir } : {}),
      readOnly: f.readOnly ?? false,
      tmpfs: f.tmpfs,
      stopTimeout: seconds('--stop-timeout', f.stopTimeout),
    },
    check: f.smoke !== undefined ? { kind: 'smoke', command: f.smoke, timeoutSeconds: seconds('--smoke-timeout', f.smokeTimeout) } : { kind: 'job' },
    probe: f.probe as ProbeChoice,
    include: f.include,
    ...(f.trace ? { traceIn: f.trace } : {}),
    ...(f.traceOut ? { traceOut: f.traceOut } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    outputs: (f.output?.length ? f.output : ['docker']).map(parseOutputRef),
  };
}
