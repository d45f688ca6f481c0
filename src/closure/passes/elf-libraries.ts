import type { ImagePath } from '../../rootfs/entry.js';
import type { ClosurePass } from '../context.js';
import { LdContext } from '../ld-context.js';
import { resolveNeeded, type Requester } from '../ld-resolve.js';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** An ELF file brings its interpreter and its DT_NEEDED libraries, found as ld.so would find them. */
export const elfLibraries: ClosurePass = (ctx) => {
  const ld = new LdContext(ctx.index, ctx.content, ctx.env);
  // A library is looked up with the RPATHs of the objects that loaded it, as ld.so does.
  const loadersOf = new Map<ImagePath, Requester[]>();
  return {
    async visit({ path, entry, head }) {
      if (entry.kind !== 'file' || entry.size < 4 || !(await head()).subarray(0, 4).equals(ELF_MAGIC)) return;
      const info = await ld.elf(entry);
      if (!info) return;
      if (info.interp && !ctx.keepResolved(info.interp, { why: 'elf-interp', from: path })) ctx.warn(`${path}: ELF interpreter ${info.interp} is not in the image`);
      const self: Requester = { path, rpath: info.rpath, runpath: info.runpath };
      const loaders = loadersOf.get(path) ?? [];
      for (const soname of info.needed) {
        const found = await resolveNeeded(soname, self, loaders, await ld.context(info));
        if (!found) {
          ctx.warn(`${path} needs ${soname}, which the image does not have`);
          continue;
        }
        const lib = ctx.index.resolve(found.path).real;
        if (!loadersOf.has(lib)) loadersOf.set(lib, [...loaders, self]);
        ctx.keepResolved(found.path, { why: 'elf-needed', from: path });
      }
    },
  };
};
