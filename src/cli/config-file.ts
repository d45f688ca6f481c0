import { existsSync, readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SlimError, UsageError } from '../errors.js';

const DEFAULT_FILES = ['slim.yaml', 'slim.yml'];

function usage(message: string, hint?: string): SlimError {
  return new UsageError(message, { ...(hint ? { hint } : {}) });
}

/**
 * Fill a command's options from a config file (`--config FILE`, else ./slim.yaml when present):
 * the same names as the long flags (`http-probe`, or `httpProbe`), plus `image`. A flag given on
 * the command line wins; a list given on the command line replaces the file's list.
 * Returns the file used and the image it names, if any.
 */
export function applyConfigFile(cmd: Command, explicit: string | undefined): { file?: string; image?: string } {
  const file = explicit ?? DEFAULT_FILES.find((f) => existsSync(f));
  if (!file) return {};
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw usage(`cannot read the config file ${file}: ${e.code ?? e.message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return { file };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw usage(`${file} must be a mapping of option names to values`);
  const byName = new Map<string, Option>();
  for (const o of cmd.options) {
    if (!o.long || o.long === '--config') continue;
    const name = o.long.replace(/^--(no-)?/, '');
    byName.set(name, o);
    byName.set(o.attributeName(), o);
  }
  let image: string | undefined;
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'image') {
      if (typeof value !== 'string') throw usage(`${file}: image must be a string`);
      image = value;
      continue;
    }
    const opt = byName.get(key);
    if (!opt) throw usage(`${file}: unknown option "${key}"`, `use the long names of \`slim ${cmd.name()}\` flags, e.g. ${[...new Set([...byName.keys()].filter((k) => k.includes('-')))].slice(0, 6).join(', ')}`);
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    cmd.setOptionValueWithSource(attr, coerce(opt, value, `${file}: ${key}`), 'config');
  }
  return { file, ...(image !== undefined ? { image } : {}) };
}

function coerce(opt: Option, value: unknown, where: string): unknown {
  const scalar = (v: unknown): string => {
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    throw usage(`${where} must be text or a number, not ${JSON.stringify(v)}`);
  };
  if (Array.isArray(opt.defaultValue)) return (Array.isArray(value) ? value : [value]).map(scalar);
  if (opt.isBoolean() || opt.negate) {
    if (typeof value !== 'boolean') throw usage(`${where} must be true or false`);
    return value;
  }
  return scalar(value);
}
