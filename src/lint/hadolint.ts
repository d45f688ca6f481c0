import { RULES } from './rules.js';

/**
 * slim's rules that mean what one of hadolint's means, from the rules themselves: slim id → hadolint
 * ids. Only these hadolint ids are honoured in `# hadolint ignore=` and accepted where rule ids are.
 */
export const HADOLINT_MAP: ReadonlyMap<string, readonly string[]> = new Map(RULES.filter((r) => r.hadolint).map((r) => [r.id, r.hadolint!]));

/** hadolint id → the slim rules that have hits matching it. */
export const SLIM_FOR_HADOLINT: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, string[]>();
  for (const [slim, ids] of HADOLINT_MAP) for (const id of ids) out.set(id, [...(out.get(id) ?? []), slim]);
  return out;
})();

/** `SL003 (DL3009)`: how every format names a finding's rule. */
export function ruleLabel(f: { rule: string; hadolint: string | null }): string {
  return f.hadolint === null ? f.rule : `${f.rule} (${f.hadolint})`;
}
