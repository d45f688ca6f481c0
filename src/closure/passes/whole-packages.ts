import type { ImagePath } from '../../rootfs/entry.js';
import type { ClosurePass } from '../context.js';
import { ownersByRealPath } from '../../packages/owners.js';
import type { PackageFiles } from '../../packages/database.js';

/** `--keep-packages`: a package that owns a kept file is kept whole, its directories as parents only. */
export const wholePackages: ClosurePass = (ctx) => {
  let files: PackageFiles | undefined;
  let owners: Map<ImagePath, string[]> | undefined;
  const kept = ctx.found.packages;
  return {
    async seed() {
      if (!ctx.policy.keepPackages) return;
      files = (await ctx.packages()).files;
      owners = ownersByRealPath(ctx.index, files);
      if (files.size === 0) ctx.warn('--keep-packages: the image has no dpkg or apk database');
    },
    async visit({ path }) {
      for (const pkg of owners?.get(path) ?? []) {
        if (kept.has(pkg)) continue;
        kept.add(pkg);
        for (const p of files!.get(pkg)!) {
          const r = ctx.index.resolve(p, { followLast: false });
          if (r.entry && r.entry.kind !== 'dir') ctx.keepResolved(p, { why: 'package', from: pkg });
        }
      }
    },
  };
};
