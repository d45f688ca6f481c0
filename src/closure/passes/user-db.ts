import type { ClosurePass } from '../context.js';

/** A config that names a User: the runtime looks it up in the image's user database. */
export const userDatabase: ClosurePass = (ctx) => ({
  seed() {
    if (!ctx.policy.config.User) return;
    for (const f of ['/etc/passwd', '/etc/group']) ctx.keepResolved(f, { why: 'user' });
  },
});
