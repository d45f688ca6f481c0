import { joinInside } from '../../rootfs/safe-path.js';
import type { ClosurePass } from '../context.js';
import { parseShebang } from '../shebang.js';

/** A script brings its `#!` interpreter, and the program `#!/usr/bin/env` looks up in PATH at run time. */
export const shebangs: ClosurePass = (ctx) => ({
  async visit({ path, entry, head }) {
    if (entry.kind !== 'file' || entry.size < 4) return;
    const bytes = await head();
    if (bytes[0] !== 0x23 || bytes[1] !== 0x21) return;
    const sb = parseShebang(bytes);
    if (!sb) return;
    ctx.keepResolved(sb.interpreter, { why: 'shebang', from: path });
    if (/(^|\/)env$/.test(sb.interpreter) && sb.arg && !sb.arg.startsWith('-')) {
      const prog = sb.arg.split(/\s+/)[0]!;
      const hit = ctx.pathDirs.map((d) => joinInside(d, prog)).find((c) => ctx.index.resolve(c).entry?.kind === 'file');
      if (hit) ctx.keepResolved(hit, { why: 'shebang', from: path });
    }
  },
});
