import { ancestors } from '../../rootfs/safe-path.js';
import type { ClosurePass } from '../context.js';

/** Every directory above a kept path. */
export const parents: ClosurePass = (ctx) => ({
  visit({ path }) {
    for (const a of ancestors(path)) ctx.keep(a, { why: 'parent', from: path });
  },
});
