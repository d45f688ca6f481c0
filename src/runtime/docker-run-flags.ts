import { existsSync, readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * `docker run --env-file`, `--cap-add`, `--security-opt` and `--mount` as the docker CLI reads
 * them, checked before anything runs: what the CLI or the engine would refuse is a usage error
 * here, and what slim cannot pass on as docker would is refused rather than half applied.
 */

const usage = (message: string, hint?: string) => new UsageError(message, { ...(hint ? { hint } : {}) });

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The docker CLI's env file: one KEY=VALUE a line, the value as written (quotes and trailing
 * blanks included); leading blanks, empty lines and # comments skipped; a bare KEY takes slim's
 * own environment, and is left out when that has none, as docker leaves it out.
 */
export function parseEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  const lines = readText('--env-file', file).replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (!key) throw usage(`--env-file ${file}:${i + 1}: no variable name before "="`);
    if (/[ \t]/.test(key)) throw usage(`--env-file ${file}:${i + 1}: variable '${key}' contains whitespace`);
    if (eq >= 0) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  });
  return out;
}

/** The capabilities a Linux kernel knows, by the names docker takes (without CAP_). */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/** `NET_ADMIN`, `cap_net_admin`, `ALL`: each as docker normalises it (upper case, no CAP_), once. */
export function parseCapAdd(values: string[]): string[] {
  const caps = values.flatMap((v) => v.split(',')).map((v) => v.trim().toUpperCase().replace(/^CAP_/, '')).filter(Boolean);
  for (const c of caps) if (c !== 'ALL' && !CAPABILITIES.includes(c)) throw usage(`--cap-add ${c}: no such capability`, 'names as in capabilities(7), with or without CAP_, or ALL');
  return [...new Set(caps)];
}

/**
 * What the engine takes (label, apparmor, seccomp, no-new-privileges), with a seccomp profile
 * file sent as its JSON, as the docker CLI sends it. systempaths=unconfined is not an engine
 * option but one the CLI turns into other settings, which slim does not make.
 */
export function parseSecurityOpts(values: string[]): string[] {
  return values.map((opt) => {
    const eq = opt.indexOf('=');
    const sep = eq >= 0 ? eq : opt.indexOf(':');
    const key = sep < 0 ? opt : opt.slice(0, sep);
    const value = sep < 0 ? '' : opt.slice(sep + 1);
    if (key === 'no-new-privileges') {
      if (value && !/^(true|false|1|0)$/.test(value)) throw usage(`--security-opt ${opt}: no-new-privileges takes true or false`);
      return opt;
    }
    if (!value) throw usage(`--security-opt ${opt}: needs KEY=VALUE (label, apparmor, seccomp) or no-new-privileges`);
    if (key === 'systempaths') throw usage(`--security-opt ${opt}: not supported by slim`, 'the probe and the checks run with the engine\'s masked and read-only /proc paths');
    if (!['label', 'apparmor', 'seccomp'].includes(key)) throw usage(`--security-opt ${opt}: unknown option ${key}`, 'the options are label, apparmor, seccomp and no-new-privileges');
    if (key !== 'seccomp' || value === 'unconfined' || value === 'builtin') return opt;
    try {
      return `seccomp=${JSON.stringify(JSON.parse(readText('--security-opt seccomp', value)))}`;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw usage(`--security-opt seccomp=${value}: not a JSON seccomp profile: ${(err as Error).message}`);
    }
  });
}

/** A `--mount` as the settings slim already passes on: a `-v` spec, or a tmpfs with its options. */
export type MountAs = { volume: string } | { tmpfs: string; options: string };

/** `type=bind,source=/data,target=/data,readonly`: docker's CSV fields, one mount. */
export function parseMount(spec: string): MountAs {
  const fields = csvFields(spec);
  const m: Record<string, string> = { type: 'volume' };
  const flags = new Set<string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const name = ({ src: 'source', dst: 'target', destination: 'target', ro: 'readonly' } as Record<string, string>)[key] ?? key;
    if (['readonly', 'volume-nocopy', 'bind-nonrecursive'].includes(name)) {
      if (value !== undefined && !/^(true|false|1|0)$/i.test(value)) throw usage(`--mount ${spec}: invalid value for ${key}: ${value}`);
      if (value === undefined || /^(true|1)$/i.test(value)) flags.add(name);
      continue;
    }
    if (value === undefined) throw usage(`--mount ${spec}: invalid field '${field}' must be a key=value pair`);
    if (!['type', 'source', 'target', 'consistency', 'bind-propagation', 'tmpfs-size', 'tmpfs-mode'].includes(name)) {
      const unsupported = name.startsWith('volume-') || name.startsWith('bind-') || name === 'image-subpath';
      throw usage(`--mount ${spec}: ${unsupported ? `${key} is not supported by slim` : `unexpected key '${key}'`}`, unsupported ? 'create the volume with docker volume create first, then mount it by name' : undefined);
    }
    m[name] = name === 'type' ? value.toLowerCase() : value;
  }
  const { type, target } = m;
  if (!target) throw usage(`--mount ${spec}: target is required`);
  if (!target.startsWith('/')) throw usage(`--mount ${spec}: the target must be an absolute path in the container`);
  const prefixes: Record<string, string[]> = { bind: ['bind-'], volume: ['volume-'], tmpfs: ['tmpfs-'] };
  if (!prefixes[type!]) throw usage(`--mount ${spec}: type ${type} is not supported by slim`, 'the types are bind, volume and tmpfs');
  for (const k of [...Object.keys(m), ...flags]) {
    const family = Object.entries(prefixes).find(([, p]) => k.startsWith(p[0]!));
    if (family && family[0] !== type) throw usage(`--mount ${spec}: cannot mix '${family[1][0]}*' options with mount type '${type}'`);
  }
  const ro = flags.has('readonly');
  if (type === 'tmpfs') {
    if (m.source) throw usage(`--mount ${spec}: a tmpfs has no source`);
    const options = [...(ro ? ['ro'] : []), ...(m['tmpfs-mode'] ? [`mode=${octal(spec, m['tmpfs-mode'])}`] : []), ...(m['tmpfs-size'] ? [`size=${ramBytes(spec, m['tmpfs-size'])}`] : [])];
    return { tmpfs: posix.normalize(target), options: options.join(',') };
  }
  if (type === 'bind') {
    if (!m.source) throw usage(`--mount ${spec}: a bind mount needs a source`);
    if (flags.has('bind-nonrecursive')) throw usage(`--mount ${spec}: bind-nonrecursive is not supported by slim`);
    const source = m.source === '.' || m.source.startsWith('./') ? resolve(m.source) : m.source;
    if (!source.startsWith('/')) throw usage(`--mount ${spec}: the source of a bind mount must be an absolute path`);
    // Unlike -v, --mount does not create a missing source: the engine refuses it.
    if (!existsSync(source)) throw usage(`--mount ${spec}: bind source path does not exist: ${source}`);
    const propagation = m['bind-propagation'];
    if (propagation && !['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(propagation)) throw usage(`--mount ${spec}: invalid bind-propagation ${propagation}`);
    return { volume: [source, target, [...(ro ? ['ro'] : []), ...(propagation ? [propagation] : [])].join(',')].filter(Boolean).join(':') };
  }
  const options = [...(ro ? ['ro'] : []), ...(flags.has('volume-nocopy') ? ['nocopy'] : [])].join(',');
  if (!m.source) {
    if (options) throw usage(`--mount ${spec}: an anonymous volume takes no readonly or volume-nocopy here`);
    return { volume: target };
  }
  if (m.source.includes('/') || m.source.includes(':')) throw usage(`--mount ${spec}: a volume source is a volume name, not "${m.source}"`);
  return { volume: [m.source, target, options].filter(Boolean).join(':') };
}

/** Go's encoding/csv on one line: fields split at commas, "quoted" ones with "" for a quote. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  if (quoted) throw usage(`--mount ${line}: unclosed quote`);
  out.push(cur);
  return out.filter((f) => f !== '');
}

function octal(spec: string, v: string): string {
  if (!/^[0-7]{1,11}$/.test(v)) throw usage(`--mount ${spec}: invalid value for tmpfs-mode: ${v}`);
  return Number.parseInt(v, 8).toString(8);
}

/** go-units' RAMInBytes: 64m, 1.5g, 512k, 1024 (binary units, an optional b). */
function ramBytes(spec: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i.exec(v.trim());
  if (!m) throw usage(`--mount ${spec}: invalid value for tmpfs-size: ${v}`);
  const exp = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** exp);
}
