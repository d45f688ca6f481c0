import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SlimError, UsageError } from '../errors.js';
import { parseSize } from '../pipeline/budget.js';
import type { SharePlanOptions } from '../fleet/share-plan.js';

/** One image of a fleet file: its name and the `slim build` arguments its options make. */
export interface FleetFileImage {
  image: string;
  argv: string[];
}

export interface FleetFile {
  images: FleetFileImage[];
  share: SharePlanOptions;
}

const SHARE_KEYS = ['strategy', 'min-savings', 'max-shared'];

/**
 * `slim-fleet.yaml`: `images:` a list of mappings, each `image:` and the options of its own
 * `slim build` (the names of slim.yaml); `options:` the ones every image gets (an image's own
 * win, a list replaces the fleet's); `share:` how shared layers are chosen.
 */
export function readFleetFile(file: string, build: () => Command): FleetFile {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot read the fleet file ${file}: ${e.code ?? e.message.split('\n')[0]}`);
  }
  const top = mapping(doc, file);
  for (const k of Object.keys(top)) if (!['images', 'options', 'share'].includes(k)) throw new UsageError(`${file}: unknown key "${k}"`, { hint: 'a fleet file has images:, options: and share:' });
  const defaults = top.options === undefined ? {} : mapping(top.options, `${file}: options`);
  if (!Array.isArray(top.images) || top.images.length < 2) throw new UsageError(`${file}: images: must list at least two images`);
  const images = top.images.map((raw, i) => {
    const where = `${file}: images[${i}]`;
    const { image, ...own } = mapping(raw, where);
    if (typeof image !== 'string' || !image) throw new UsageError(`${where}: needs image: NAME`);
    return { image, argv: argvOf({ ...defaults, ...own }, build(), `${where} (${image})`) };
  });
  const share = top.share === undefined ? {} : mapping(top.share, `${file}: share`);
  for (const k of Object.keys(share)) if (!SHARE_KEYS.includes(k)) throw new UsageError(`${file}: share: unknown key "${k}"`, { hint: `the keys are ${SHARE_KEYS.join(', ')}` });
  const strategy = share.strategy ?? 'auto';
  if (!['auto', 'one-base', 'tree'].includes(String(strategy))) throw new UsageError(`${file}: share: strategy must be auto, one-base or tree, not "${String(strategy)}"`);
  const maxShared = Number(share['max-shared'] ?? 3);
  if (!Number.isInteger(maxShared) || maxShared < 1 || maxShared > 16) throw new UsageError(`${file}: share: max-shared must be a whole number from 1 to 16`);
  return { images, share: { strategy: strategy as SharePlanOptions['strategy'], maxShared, minSavings: parseSize(`${file}: share: min-savings`, String(share['min-savings'] ?? '1MB')) } };
}

function mapping(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${where} must be a mapping`);
  return v as Record<string, unknown>;
}

/** The options as `slim build` arguments, by the long names of its flags (a `false` for a --no- flag gives it). */
export function argvOf(options: Record<string, unknown>, cmd: Command, where: string): string[] {
  const byName = new Map<string, Option>();
  for (const o of cmd.options) {
    if (!o.long || o.long === '--config') continue;
    byName.set(o.long.replace(/^--(no-)?/, ''), o);
    byName.set(o.attributeName(), o);
  }
  const argv: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    const o = byName.get(key);
    if (!o) throw new UsageError(`${where}: unknown option "${key}"`, { hint: 'use the long names of `slim build` flags, as in slim.yaml' });
    if (o.isBoolean() || o.negate) {
      if (typeof value !== 'boolean') throw new UsageError(`${where}: ${key} must be true or false`);
      if (value !== o.negate) argv.push(o.long!);
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new UsageError(`${where}: ${key} must be text or a number, not ${JSON.stringify(v)}`);
      argv.push(o.long!, String(v));
    }
  }
  return argv;
}

/** The build flags of one image: its arguments parsed by `slim build`'s own options, so its values are checked as on the command line. */
export function parseImageFlags<T>(cmd: Command, img: FleetFileImage, where: string): T {
  cmd.exitOverride((err) => {
    throw new UsageError(`${where} (${img.image}): ${err.message.replace(/^error: /, '')}`);
  });
  cmd.configureOutput({ writeErr: () => {}, outputError: () => {} });
  const { unknown } = cmd.parseOptions(img.argv);
  if (unknown.length) throw new SlimError(`${where} (${img.image}): unknown ${unknown.join(' ')}`, { code: 'USAGE' });
  return cmd.opts() as T;
}
