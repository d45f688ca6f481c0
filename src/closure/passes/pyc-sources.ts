import type { ClosurePass } from '../context.js';

const PYC = /^(.*)\/__pycache__\/([^/]+?)\.[^./]+(?:\.opt-\d)?\.pyc$/;

/**
 * Python uses a cached .pyc only after checking its source's metadata: a trace that cannot see
 * stat (fanotify) never shows the .py, yet without it the import fails.
 */
export const pycSources: ClosurePass = (ctx) => ({
  visit({ path, entry }) {
    const pyc = entry.kind === 'file' ? PYC.exec(path) : null;
    if (pyc) ctx.keepResolved(`${pyc[1]}/${pyc[2]}.py`, { why: 'pyc-source', from: path });
  },
});
