import { shippedStages, type Instruction, type Stage } from '../dockerfile.js';
import { isBuildTool, isSystemInstall, isSystemRemove, type PackageCommand } from '../packages.js';
import { allCommands, unwrap, type Argv } from '../shell.js';
import { hasCacheMount, inStage, packageCommands, runs } from './readings.js';
import type { Rule } from './rule.js';

interface CacheCheck {
  manager: string;
  installs: (pc: PackageCommand) => boolean;
  cleaned: (pc: PackageCommand, commands: Argv[], stage: Stage[]) => boolean;
  fix: string;
  /** hadolint has one rule per manager, and none for npm. */
  hadolint: (pc: PackageCommand) => string | null;
}

const removes = (commands: Argv[], path: RegExp) =>
  commands.some((argv) => unwrap(argv)[0] === 'rm' && unwrap(argv).some((w) => path.test(w)));
const runsCommand = (commands: Argv[], pattern: RegExp) => commands.some((argv) => pattern.test(unwrap(argv).join(' ')));

const CACHE_CHECKS: CacheCheck[] = [
  {
    manager: 'apt-get',
    installs: (pc) => pc.manager === 'apt' && pc.action === 'install',
    cleaned: (_pc, cmds) => removes(cmds, /^\/var\/lib\/apt\/lists/),
    fix: 'end the same RUN with `&& rm -rf /var/lib/apt/lists/*` (or use RUN --mount=type=cache,target=/var/lib/apt)',
    hadolint: () => 'DL3009',
  },
  {
    manager: 'apk',
    installs: (pc) => pc.manager === 'apk' && pc.action === 'add',
    cleaned: (pc, cmds) => pc.options.includes('--no-cache') || removes(cmds, /^\/var\/cache\/apk/),
    fix: 'use `apk add --no-cache`',
    hadolint: () => 'DL3019',
  },
  {
    manager: 'pip',
    installs: (pc) => pc.manager === 'pip' && pc.action === 'install',
    cleaned: (pc, cmds, chain) =>
      pc.options.includes('--no-cache-dir') || removes(cmds, /\.cache\/pip|\/root\/\.cache/) ||
      chain.some((s) => s.instructions.some((i) => i.keyword === 'ENV' && i.properties.some((p) => p.name === 'PIP_NO_CACHE_DIR'))),
    fix: 'use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1)',
    hadolint: () => 'DL3042',
  },
  {
    manager: 'npm',
    installs: (pc) => pc.manager === 'npm' && ['install', 'i', 'ci'].includes(pc.action),
    cleaned: (_pc, cmds) => runsCommand(cmds, /^npm cache clean/) || removes(cmds, /\.npm(\/|$)/),
    fix: 'end the same RUN with `&& npm cache clean --force` (or use RUN --mount=type=cache,target=/root/.npm)',
    hadolint: () => null,
  },
  {
    manager: 'yum/dnf',
    installs: (pc) => ['yum', 'dnf', 'microdnf'].includes(pc.manager) && pc.action === 'install',
    cleaned: (_pc, cmds) => runsCommand(cmds, /^(yum|dnf|microdnf) .*clean all/) || removes(cmds, /^\/var\/cache\/(yum|dnf)/),
    fix: 'end the same RUN with `&& yum clean all && rm -rf /var/cache/yum` (dnf: `dnf clean all`)',
    hadolint: (pc) => (pc.manager === 'yum' ? 'DL3032' : 'DL3040'),
  },
];

export const cacheNotCleaned: Rule = {
  id: 'SL003',
  name: 'cache-not-cleaned',
  severity: 'warning',
  description: 'a package manager leaves its cache in the layer',
  fix: 'clean the cache in the same RUN, or use RUN --mount=type=cache',
  hadolint: ['DL3009', 'DL3019', 'DL3042', 'DL3032', 'DL3040'],
  check: (df) => {
    const chain = shippedStages(df);
    return chain.flatMap((stage) =>
      runs(stage)
        .filter((run) => !hasCacheMount(run))
        .flatMap((run) => {
          const cmds = allCommands(run);
          const pcs = packageCommands(run);
          return CACHE_CHECKS.flatMap((c) => {
            const left = pcs.find((pc) => c.installs(pc) && !c.cleaned(pc, cmds, chain));
            if (!left) return [];
            return [{ line: run.line, stage: stage.label, message: `${c.manager} cache is left in the layer in ${inStage(stage)}`, fix: c.fix, hadolint: c.hadolint(left) }];
          });
        }),
    );
  },
};

export const aptRecommends: Rule = {
  id: 'SL004',
  name: 'apt-recommends',
  severity: 'warning',
  description: 'apt-get install pulls in recommended packages',
  fix: 'use `apt-get install -y --no-install-recommends`',
  hadolint: ['DL3015'],
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      runs(stage)
        .filter((run) =>
          packageCommands(run).some(
            (pc) => pc.manager === 'apt' && pc.action === 'install' &&
              !pc.options.some((o) => o === '--no-install-recommends' || /^APT::Install-Recommends=(false|0)$/i.test(o)),
          ),
        )
        .map((run) => ({ line: run.line, stage: stage.label, message: `apt-get install without --no-install-recommends in ${inStage(stage)}` })),
    ),
};

export const aptUpgrade: Rule = {
  id: 'SL005',
  name: 'apt-upgrade',
  severity: 'info',
  description: 'apt-get upgrade in the image: unreproducible, and the base image is the place for updates',
  fix: 'rebuild on a newer base image tag instead of upgrading in place',
  // DL3005 as hadolint first defined it; hadolint has since retired the rule, but its ignore pragmas live on in Dockerfiles.
  hadolint: ['DL3005'],
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      runs(stage)
        .filter((run) => packageCommands(run).some((pc) => pc.manager === 'apt' && ['upgrade', 'dist-upgrade', 'full-upgrade'].includes(pc.action)))
        .map((run) => ({ line: run.line, stage: stage.label, message: `apt-get upgrade in ${inStage(stage)}` })),
    ),
};

/** Build tools a RUN installs and does not remove again in the same RUN. */
function buildToolsKept(run: Instruction): string[] {
  const pcs = packageCommands(run);
  const removed = new Set(pcs.filter(isSystemRemove).flatMap((pc) => pc.packages));
  return pcs.filter(isSystemInstall).flatMap((pc) => {
    // `apk add --virtual .build-deps gcc … && apk del .build-deps` removes the whole group.
    const vi = pc.options.findIndex((o) => o === '--virtual' || o === '-t');
    const group = vi >= 0 ? pc.options[vi + 1] : undefined;
    if (group !== undefined && removed.has(group)) return [];
    return pc.packages.filter((p) => isBuildTool(p) && !removed.has(p));
  });
}

export const buildToolsShipped: Rule = {
  id: 'SL009',
  name: 'build-tools-shipped',
  severity: 'warning',
  description: 'compilers and build tools are installed in the stage that ships',
  fix: 'build in a separate stage (FROM … AS build) and COPY --from=build only the artifacts into the final stage',
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      runs(stage).flatMap((run) => {
        const tools = buildToolsKept(run);
        if (tools.length === 0) return [];
        const where = df.stages.length === 1 ? 'the only stage' : `${inStage(stage)}, which ships`;
        return [{ line: run.line, stage: stage.label, message: `build tools (${tools.join(', ')}) installed in ${where}` }];
      }),
    ),
};
