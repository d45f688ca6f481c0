import { UsageError } from '../errors.js';
import { formatBytes } from '../report/report.js';

export interface Budget {
  /** Largest acceptable slim image, in bytes (the engine's uncompressed size). */
  maxSize?: number;
  /** Smallest acceptable original/slim size ratio. */
  minReduction?: number;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `50MB`, `1.5GiB`, `200m`, `123456`: decimal units as docker prints sizes, binary ones with `i`. */
export function parseSize(flag: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${flag} must be a size like 50MB or 1.5GiB, not "${v}"`);
  return Math.round(Number(m[1]) * unit);
}

/** `5`, `5x`, `5.5X`. */
export function parseRatio(flag: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*x?\s*$/i.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 1)) throw new UsageError(`${flag} must be a ratio of at least 1 like 5 or 5x, not "${v}"`);
  return n;
}

/** Each budget the slim image breaks, in words; empty when it fits. */
export function overBudget(budget: Budget, size: number, ratio: number): string[] {
  const out: string[] = [];
  if (budget.maxSize !== undefined && size > budget.maxSize) out.push(`${formatBytes(size)} is over --max-size ${formatBytes(budget.maxSize)}`);
  if (budget.minReduction !== undefined && ratio < budget.minReduction) out.push(`${ratio.toFixed(1)}x smaller is under --min-reduction ${budget.minReduction}x`);
  return out;
}
