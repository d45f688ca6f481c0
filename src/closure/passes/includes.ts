import { isGlob } from '../globs.js';
import { keepMatching, keepTree, type ClosurePass } from '../context.js';

/** `--include`: paths and globs, a directory with everything below it. */
export const includes: ClosurePass = (ctx) => ({
  seed() {
    for (const inc of ctx.policy.include) {
      if (isGlob(inc)) {
        if (keepMatching(ctx, [inc], { why: 'include', from: inc }) === 0) ctx.warn(`--include ${inc} matches nothing in the image`);
        continue;
      }
      const e = ctx.keepResolved(inc, { why: 'include' });
      if (!e) ctx.warn(`--include ${inc} is not in the image`);
      else if (e.kind === 'dir') keepTree(ctx, inc, { why: 'include', from: inc });
    }
  },
});
