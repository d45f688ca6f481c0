import { appEntries } from '../app.js';
import { keepMatching, type ClosurePass } from '../context.js';
import { PRESETS } from '../presets.js';

/** `--keep`: each preset in the order given, so that a path two presets match is kept for the first. */
export const presets: ClosurePass = (ctx) => ({
  async seed() {
    const counts = ctx.found.presets;
    for (const name of ctx.policy.presets ?? []) {
      if (name === 'app') {
        const packaged = await ctx.packaged();
        // Each entry gets the whole closure below: an unowned binary brings its libraries.
        const app = await appEntries(ctx.index, ctx.content, packaged, (await ctx.packages()).installed, ctx.ignored);
        for (const p of app.paths) ctx.keepResolved(p, { why: 'keep', from: 'app' });
        counts.app = app.paths.length;
        if (packaged.size === 0) ctx.warn("--keep app: the image has no dpkg or apk database, so every file counts as the app's");
        else if (app.paths.length === 0) ctx.warn('--keep app: every file of the image belongs to a package');
        continue;
      }
      counts[name] = keepMatching(ctx, PRESETS[name].globs, { why: 'keep', from: name });
      if (counts[name] === 0) ctx.warn(`--keep ${name}: the image has none of these files`);
    }
  },
});
