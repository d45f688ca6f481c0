import type { ClosurePass } from '../context.js';

/**
 * Programs reach files through links a trace of resolved paths (fanotify) never names: PATH
 * lookups through /etc/alternatives, /etc/localtime, soname links, conf.d entries pointing into
 * mods-available. Every link in the image that lands on something kept is kept: a few hundred
 * bytes of tar headers each, and the slim image then resolves every name the original did.
 */
export const linksToKept: ClosurePass = (ctx) => ({
  sweep() {
    for (const e of ctx.index.values()) {
      if (e.kind !== 'symlink' || ctx.selection.has(e.path) || ctx.ignored(e.path)) continue;
      const r = ctx.index.resolve(e.path);
      if (r.entry && !r.loop && ctx.selection.has(r.real)) for (const link of r.links) ctx.keep(link, { why: 'symlink-to-kept', from: r.real });
    }
  },
});
