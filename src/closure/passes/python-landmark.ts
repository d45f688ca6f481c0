import type { ClosurePass } from '../context.js';

const STDLIB = /^(.*\/lib\/python3\.\d+)\//;

/** Python finds its prefix by stat'ing the landmark lib/pythonX.Y/os.py (os itself is frozen). */
export const pythonLandmark: ClosurePass = (ctx) => ({
  visit({ path, entry }) {
    const stdlib = entry.kind === 'file' ? STDLIB.exec(path) : null;
    if (stdlib) ctx.keepResolved(`${stdlib[1]}/os.py`, { why: 'python-landmark', from: path });
  },
});
