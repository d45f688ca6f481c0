import { findProgram, type ClosurePass } from '../context.js';

/** The programs the runtime starts by path lookup (entrypoint + cmd, the HEALTHCHECK), with the links on the way. */
export const entrypoints: ClosurePass = (ctx) => ({
  seed() {
    for (const [argv0] of ctx.policy.commands) {
      if (!argv0) continue;
      const found = findProgram(ctx, argv0);
      if (found) ctx.keepResolved(found, { why: 'entrypoint' });
      else ctx.warn(`the command ${argv0} is not a file in the image`);
    }
  },
});
