import { UsageError } from '../errors.js';
import { SLIM_FOR_HADOLINT } from './hadolint.js';
import { RULES } from './rules.js';
import { closeMatches } from '../util/close-matches.js';

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

/** The known ids nearest to the given one: the same matching as slim.yaml keys get. */
export { closeMatches };
