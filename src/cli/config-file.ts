import { existsSync, readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { SlimError, UsageError } from '../errors.js';
import { closeMatches } from '../util/close-matches.js';

const DEFAULT_FILES = ['slim.yaml', 'slim.yml'];

function usage(message: string, hint?: string): SlimError {
  return new UsageError(message, { ...(hint ? { hint } : {}) });
}

/** Where a key's value is in the file, as editors count: `FILE:LINE:COL`. */
interface Place {
  key: string;
  at: string;
  /** A list's items, each with its own place: an error names the item it is about. */
  items?: { text: string; at: string }[];
}

/** What the config file gave: the file, the image it names, and where each option it set was written. */
export interface AppliedConfig {
  file?: string;
  image?: string;
  /** By attribute name (`maxSize`): the key as written and the place of its value. */
  places?: Map<string, Place>;
}

/**
 * Fill a command's options from a config file (`--config FILE`, else ./slim.yaml when present):
 * the same names as the long flags (`http-probe`, or `httpProbe`), plus `image`. A flag given on
 * the command line wins; a list given on the command line replaces the file's list.
 * Returns the file used, the image it names, and where each value was, for the errors about them.
 */
export function applyConfigFile(cmd: Command, explicit: string | undefined): AppliedConfig {
  const file = explicit ?? DEFAULT_FILES.find((f) => existsSync(f));
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw usage(`cannot read the config file ${file}: ${e.code ?? e.message.split('\n')[0]}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined): string => {
    const { line, col } = lines.linePos(offset ?? 0);
    return `${file}:${line}:${col}`;
  };
  const broken = doc.errors[0];
  if (broken) throw usage(`${at(broken.pos[0])}: ${yamlMessage(broken.message)}`, 'slim.yaml is YAML: a mapping of option names to values, each `name: value` on a line of its own');
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { file };
  if (!isMap(doc.contents)) throw usage(`${at(doc.contents.range?.[0])}: ${file} must be a mapping of option names to values`);
  const byName = new Map<string, Option>();
  for (const o of cmd.options) {
    if (!o.long || o.long === '--config') continue;
    const name = o.long.replace(/^--(no-)?/, '');
    byName.set(name, o);
    byName.set(o.attributeName(), o);
  }
  const dashed = ['image', ...new Set([...byName.keys()].filter((k) => !/[A-Z]/.test(k)))];
  // As plain values, aliases resolved; the nodes give only the places.
  const values = doc.toJS() as Record<string, unknown>;
  let image: string | undefined;
  const places = new Map<string, Place>();
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as Node | null;
    const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
    const valueNode = pair.value as Node | null;
    const where = at(valueNode?.range?.[0] ?? keyNode?.range?.[0]);
    const value = values[key];
    if (key === 'image') {
      if (typeof value !== 'string') throw usage(`${where}: image must be a string`);
      image = value;
      continue;
    }
    const opt = byName.get(key);
    if (!opt) {
      const close = closeMatches(key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), dashed);
      const keyAt = at(keyNode?.range?.[0]);
      if (close.length) throw usage(`${keyAt}: unknown option "${key}" (did you mean ${close.join(' or ')}?)`);
      throw usage(`${keyAt}: unknown option "${key}"`, `use the long names of \`slim ${cmd.name()}\` flags, e.g. ${dashed.filter((k) => k.includes('-')).slice(0, 6).join(', ')}`);
    }
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    cmd.setOptionValueWithSource(attr, coerce(opt, value, `${where}: ${key}`), 'config');
    const items = isSeq(valueNode) ? valueNode.items.map((n) => ({ text: String(isScalar(n) ? n.value : n), at: at((n as Node).range?.[0]) })) : undefined;
    places.set(attr, { key, at: where, ...(items ? { items } : {}) });
  }
  return { file, places, ...(image !== undefined ? { image } : {}) };
}

/** The yaml package's message without its own "at line L, column C" and source excerpt: slim says where first. */
function yamlMessage(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '').replace(/\.$/, '');
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

/**
 * A usage error about a value the config file gave, said where it was written: the flag the
 * message names first (`--max-size must be …`) becomes `slim.yaml:3:11: max-size must be …`.
 * Errors about flags given on the command line, or naming none, pass unchanged.
 */
export function placeConfigError(err: unknown, cmd: Command, config: AppliedConfig): unknown {
  if (!(err instanceof UsageError) || !config.places?.size) return err;
  const named = /--([a-z][a-z0-9-]*)/.exec(err.message);
  if (!named) return err;
  const opt = cmd.options.find((o) => o.long === `--${named[1]}` || o.long === `--no-${named[1]}`);
  const place = opt && cmd.getOptionValueSource(opt.attributeName()) === 'config' ? config.places.get(opt.attributeName()) : undefined;
  if (!place) return err;
  const message = err.message.slice(0, named.index) + place.key + err.message.slice(named.index + named[0].length);
  const item = place.items?.find((i) => err.message.includes(`"${i.text}"`) || err.message.includes(`${named[0]} ${i.text}`));
  return new UsageError(`${item?.at ?? place.at}: ${message}`, { ...(err.hint ? { hint: err.hint } : {}), cause: err });
}
