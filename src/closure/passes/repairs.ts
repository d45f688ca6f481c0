import type { ClosurePass } from '../context.js';

/** What a slim image that failed verification was found to miss. */
export const repairs: ClosurePass = (ctx) => ({
  seed() {
    for (const p of ctx.policy.repairs ?? []) ctx.keepResolved(p, { why: 'repair' });
  },
});
