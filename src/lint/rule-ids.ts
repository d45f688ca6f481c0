import { UsageError } from '../errors.js';
import { SLIM_FOR_HADOLINT } from './hadolint.js';
import { RULES } from './rules.js';

/** Ids a user may name: slim's, and hadolint's that a slim rule matches. */
export function knownRuleIds(): string[] {
  return [...RULES.map((r) => r.id), ...SLIM_FOR_HADOLINT.keys()];
}

/** Upper-cased and checked; an unknown id is a usage error that says what was meant. */
export function checkRuleIds(ids: readonly string[], where: string): string[] {
  const known = new Set(knownRuleIds());
  return ids.map((raw) => {
    const id = raw.trim().toUpperCase();
    if (known.has(id)) return id;
    const close = closeMatches(id, RULES.map((r) => r.id));
    const hint = /^DL\d{4}$/.test(id)
      ? `no slim rule means what hadolint's ${id} does; the hadolint ids slim honours: ${[...SLIM_FOR_HADOLINT.keys()].sort().join(', ')}`
      : close.length > 0
        ? `did you mean ${close.join(', ')}?`
        : `slim's rules are ${RULES[0]!.id}…${RULES[RULES.length - 1]!.id}`;
    throw new UsageError(`${where}: unknown rule ${raw.trim()}`, { hint });
  });
}

/** The known ids nearest to the given one (at most two edits, a swap of neighbours being one). */
export function closeMatches(id: string, known: readonly string[]): string[] {
  const scored = known.map((k) => ({ k, d: editDistance(id, k) })).filter((x) => x.d <= 2);
  const best = Math.min(...scored.map((x) => x.d));
  return scored
    .filter((x) => x.d === best)
    .map((x) => x.k)
    .sort()
    .slice(0, 5);
}

/** Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
