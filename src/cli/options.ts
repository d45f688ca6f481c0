import { SlimError, UsageError } from '../errors.js';
import { REBUILD_TARGETS, type BuildOptions, type RebuildTarget } from '../pipeline/build-types.js';
import { checkRunSettings, type RunSettings } from '../runtime/run-settings.js';
import { parseCapAdd, parseEnvFile, parseMount, parseSecurityOpts } from '../runtime/docker-run-flags.js';
import type { ProbeChoice } from '../probe/select-probe.js';
import { checkOutputPaths, parseOutputRef } from '../sinks/output.js';
import { readFileSync } from 'node:fs';
import { parseRatio, parseSize } from '../pipeline/budget.js';
import { isPresetName, PRESETS, type PresetName } from '../closure/presets.js';
import type { Check, ServiceCheck } from '../verify/checks.js';
import { describeRequest, parseInlineRequest, parseSpecFile } from '../verify/http-spec.js';
import { smokeSyntaxError } from '../verify/smoke-syntax.js';

/** The flags of `slim build` as commander hands them over. */
export interface BuildFlags {
  tag?: string;
  smoke?: string;
  smokeTimeout: string;
  probe: string;
  network?: string;
  env: string[];
  envFile?: string[];
  volume: string[];
  mount?: string[];
  capAdd?: string[];
  securityOpt?: string[];
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
  includeBin?: string[];
  exclude?: string[];
  keep?: string[];
  keepPackages?: boolean;
  maxSize?: string;
  minReduction?: string;
  harden?: boolean;
  rebuild?: string[];
  seccompOut?: string;
  report?: string;
  trace?: string;
  traceOut?: string;
  output: string[];
  insecureRegistry?: string[];
  sbom?: string;
  attach?: boolean;
  httpProbe: string[];
  httpSpec: string[];
  httpPort?: string;
  exec: string[];
  compareOutput: string[];
  verifySmoke?: string;
  verifyHttpProbe: string[];
  verifyHttpSpec: string[];
  verifyExec: string[];
  repair: boolean;
  repairRounds: string;
  dryRun?: boolean;
  keepFailed?: boolean;
}

export const DEFAULTS = { smokeTimeout: '60', stopTimeout: '10', probe: 'auto', repairRounds: '3' } as const;

function usage(message: string, hint?: string): SlimError {
  return new UsageError(message, { ...(hint ? { hint } : {}) });
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
  for (const inc of f.include) if (!inc.startsWith('/')) throw usage(`--include takes absolute paths or globs inside the image, not "${inc}"`);
  for (const ex of f.exclude ?? []) if (!ex.startsWith('/')) throw usage(`--exclude takes absolute globs inside the image, not "${ex}"`);
  const presets = (f.keep ?? []).flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
  for (const p of presets) if (!isPresetName(p)) throw usage(`--keep ${p}: no such preset`, `presets: ${Object.keys(PRESETS).join(', ')}`);
  const rebuild = rebuildTargets(f);
  return {
    image,
    ...(f.tag ? { tag: f.tag } : {}),
    settings: checkRunSettings({
      ...(f.network !== undefined ? { network: f.network } : {}),
      // As docker run: the files' variables first, so that -e overrides them.
      env: [...(f.envFile ?? []).flatMap((file) => parseEnvFile(file)), ...envFlags(f.env)],
      ...mountsOf(f),
      addHosts: f.addHost,
      publish: f.publish,
      ...(f.user !== undefined ? { user: f.user } : {}),
      ...(f.entrypoint !== undefined ? { entrypoint: parseCommand('--entrypoint', f.entrypoint) } : {}),
      ...(f.cmd !== undefined ? { cmd: parseCommand('--cmd', f.cmd) } : {}),
      ...(f.workdir ? { workdir: f.workdir } : {}),
      readOnly: f.readOnly ?? false,
      stopTimeout: seconds('--stop-timeout', f.stopTimeout),
      ...(f.capAdd?.length ? { capAdd: parseCapAdd(f.capAdd) } : {}),
      ...(f.securityOpt?.length ? { securityOpt: parseSecurityOpts(f.securityOpt) } : {}),
    }),
    ...checksFrom(f),
    probe: f.probe as ProbeChoice,
    include: f.include,
    includeBin: f.includeBin ?? [],
    exclude: f.exclude ?? [],
    presets: [...new Set(presets)] as PresetName[],
    keepPackages: f.keepPackages ?? false,
    keepFailed: f.keepFailed ?? false,
    ...(f.harden ? { harden: { seccompOut: f.seccompOut ?? (f.report ? `${f.report.replace(/\.json$/, '')}.seccomp.json` : 'slim.seccomp.json') } } : {}),
    budget: {
      ...(f.maxSize !== undefined ? { maxSize: parseSize('--max-size', f.maxSize) } : {}),
      ...(f.minReduction !== undefined ? { minReduction: parseRatio('--min-reduction', f.minReduction) } : {}),
    },
    ...(f.trace ? { traceIn: f.trace } : {}),
    ...(f.traceOut ? { traceOut: f.traceOut } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    outputs: checkOutputPaths((f.output?.length ? f.output : ['docker']).map(parseOutputRef)),
    registry: { insecure: f.insecureRegistry ?? [], attach: f.attach !== false },
    // A dry run makes no image, so no SBOM of one.
    ...(!f.dryRun && (f.sbom ?? f.report) ? { sbomOut: f.sbom ?? `${f.report!.replace(/\.json$/, '')}.sbom.cdx.json` } : {}),
    ...(f.dryRun ? { dryRun: true } : {}),
    rebuild,
  };
}

/** -v, --tmpfs and --mount, the last as the first two say it: every run takes its mounts from those. */
function mountsOf(f: BuildFlags): Pick<RunSettings, 'volumes' | 'tmpfs' | 'tmpfsOptions'> {
  const mounts = (f.mount ?? []).map(parseMount);
  const tmpfs = mounts.flatMap((m) => ('tmpfs' in m ? [m] : []));
  const options = Object.fromEntries(tmpfs.filter((m) => m.options).map((m) => [m.tmpfs, m.options]));
  return {
    volumes: [...f.volume, ...mounts.flatMap((m) => ('volume' in m ? [m.volume] : []))],
    tmpfs: [...f.tmpfs, ...tmpfs.map((m) => m.tmpfs)],
    ...(Object.keys(options).length ? { tmpfsOptions: options } : {}),
  };
}

/** The checks of the probe run and of verification (the --verify-* flags replace them there). */
function checksFrom(f: BuildFlags): { check: Check; verifyCheck: Check; repairRounds: number } {
  const timeoutSeconds = seconds('--smoke-timeout', f.smokeTimeout ?? DEFAULTS.smokeTimeout);
  const httpPort = f.httpPort === undefined ? undefined : port('--http-port', f.httpPort);
  const service = (checks: ServiceCheck[]): Check => ({ kind: 'service', checks, timeoutSeconds, ...(httpPort !== undefined ? { httpPort } : {}) });
  const probeChecks = serviceChecks(f.smoke, f.httpProbe ?? [], f.httpSpec ?? [], f.exec ?? [], '');
  const verifyChecks = serviceChecks(f.verifySmoke, f.verifyHttpProbe ?? [], f.verifyHttpSpec ?? [], f.verifyExec ?? [], 'verify-');
  const compareOutputs = f.compareOutput ?? [];
  for (const p of compareOutputs) if (!p.startsWith('/')) throw usage(`--compare-output takes an absolute path inside the container, not "${p}"`);
  if (compareOutputs.length && (probeChecks.length || verifyChecks.length)) throw usage('--compare-output is for jobs: it cannot be combined with --smoke, --http-probe or --exec');
  if (!probeChecks.length && verifyChecks.length) throw usage('--verify-* checks need a service: give the probe run its own --smoke, --http-probe or --exec');
  const check: Check = probeChecks.length ? service(probeChecks) : { kind: 'job', compareOutputs };
  const rounds = f.repair === false ? 0 : Number(f.repairRounds ?? DEFAULTS.repairRounds);
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > 20) throw usage(`--repair-rounds must be a whole number from 0 to 20, not "${f.repairRounds}"`);
  return { check, verifyCheck: verifyChecks.length ? service(verifyChecks) : check, repairRounds: rounds };
}

function serviceChecks(smoke: string | undefined, inline: string[], specs: string[], execs: string[], prefix: string): ServiceCheck[] {
  const checks: ServiceCheck[] = [];
  if (smoke !== undefined) {
    const bad = smokeSyntaxError(smoke);
    if (bad) throw usage(`--${prefix}smoke ${JSON.stringify(short(smoke))} is not a valid shell command: ${bad}`, 'it runs on the host as /bin/sh -c CMD: check its quotes and brackets');
    checks.push({ kind: 'smoke', name: `smoke: ${short(smoke)}`, command: smoke });
  }
  for (const text of inline) {
    const request = parseInlineRequest(text, `--${prefix}http-probe`);
    checks.push({ kind: 'http', name: describeRequest(request), request });
  }
  for (const file of specs) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw usage(`cannot read --${prefix}http-spec ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const request of parseSpecFile(text, file)) checks.push({ kind: 'http', name: describeRequest(request), request });
  }
  for (const cmd of execs) {
    const argv = parseCommand(`--${prefix}exec`, cmd);
    if (!argv.length) throw usage(`--${prefix}exec needs a command`);
    checks.push({ kind: 'exec', name: `exec: ${short(argv.join(' '))}`, argv });
  }
  return checks;
}

function short(s: string, max = 60): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}

function port(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usage(`${flag} must be a port number, not "${v}"`);
  return n;
}

/** --rebuild jvm[,…]: what the build rebuilds from the traced runs' evidence, which a given trace file does not hold. */
function rebuildTargets(f: BuildFlags): RebuildTarget[] {
  const asked = (f.rebuild ?? []).flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean);
  for (const t of asked) {
    if (!(REBUILD_TARGETS as readonly string[]).includes(t)) throw usage(`--rebuild ${t}: slim cannot rebuild that`, `it can rebuild: ${REBUILD_TARGETS.join(', ')}`);
  }
  if (asked.length && f.trace) throw usage(`--rebuild ${asked[0]} needs the probe's evidence (the JVM's class-load log), which --trace does not hold`, 'leave out --trace, or --rebuild');
  return [...new Set(asked)] as RebuildTarget[];
}
