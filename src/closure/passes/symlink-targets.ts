import type { ClosurePass } from '../context.js';

/** A kept symlink brings what it lands on, and the links on the way there. */
export const symlinkTargets: ClosurePass = (ctx) => ({
  visit({ path, entry }) {
    if (entry.kind === 'symlink') ctx.keepResolved(path, { why: 'symlink', from: path });
  },
});
