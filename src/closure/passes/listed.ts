import type { ClosurePass } from '../context.js';
import { listedEntries } from '../listings.js';

/**
 * What a program learns by listing a directory is evidence: it may decide by the names alone and
 * open the files later. Only names no package owns (the app's own files): expanding a runtime's
 * package-owned library directories, which runtimes list all the time, would undo the slimming.
 */
export const listed: ClosurePass = (ctx) => ({
  async seed() {
    const entries = [...listedEntries(ctx.index, ctx.records, ctx.ignored)];
    if (entries.length === 0) return;
    const packaged = await ctx.packaged();
    for (const { dir, entry } of entries) if (!packaged.has(entry.path)) ctx.keep(entry.path, { why: 'listed', from: dir });
  },
});
