import type { ClosurePass } from '../context.js';

/** Every path the trace saw, as asked for and as resolved, with the symlinks on the way. */
export const traced: ClosurePass = (ctx) => ({
  seed() {
    for (const rec of ctx.records) {
      for (const p of rec.resolved && rec.resolved !== rec.path ? [rec.path, rec.resolved] : [rec.path]) {
        if (!p.startsWith('/') || ctx.ignored(p)) continue;
        const r = ctx.index.resolve(p);
        for (const link of r.links) ctx.keep(link, { why: 'symlink', from: p });
        if (r.entry) ctx.keep(r.real, { why: 'traced' });
        // The app looked up or created something here that the image lacks: keep the directory as it was.
        else ctx.keep(r.lastDir, { why: 'created-in', from: p });
      }
    }
  },
});
