import { findProgram, type ClosurePass } from '../context.js';

/** `--include-bin`: programs found as the runtime would find them; their libraries follow in the fixpoint. */
export const includeBins: ClosurePass = (ctx) => ({
  seed() {
    for (const bin of ctx.policy.includeBin ?? []) {
      const found = findProgram(ctx, bin);
      if (found) ctx.keepResolved(found, { why: 'include', from: `--include-bin ${bin}` });
      else ctx.warn(`--include-bin ${bin} is not a program in the image${bin.includes('/') ? '' : ' (looked in PATH)'}`);
    }
  },
});
