import type { ParsedDockerfile } from '../dockerfile.js';
import type { PackageCommand } from '../packages.js';
import { inStage, isUrl, packageCommands, runs } from './readings.js';
import type { Hit, Rule } from './rule.js';

/**
 * Package versions matter in every stage, not only the shipped ones: a build stage's compiler
 * version is in the artifacts it copies on. A word with a variable, a path or a URL is not a
 * package name the Dockerfile can pin.
 */
function unpinnedHits(df: ParsedDockerfile, installs: (pc: PackageCommand) => boolean, unpinned: (arg: string) => boolean, what: string): Hit[] {
  return df.stages.flatMap((stage) =>
    runs(stage).flatMap((run) => {
      const names = packageCommands(run)
        .filter(installs)
        .flatMap((pc) => pc.args.filter((a) => !a.includes('$') && !isUrl(a) && unpinned(a)));
      if (names.length === 0) return [];
      return [{ line: run.line, stage: stage.label, message: `${what} of ${[...new Set(names)].join(', ')} without a pinned version in ${inStage(stage)}` }];
    }),
  );
}

const isPath = (arg: string) => arg.includes('/') || arg.startsWith('.');

export const aptUnpinned: Rule = {
  id: 'SL021',
  name: 'apt-version-unpinned',
  severity: 'info',
  description: 'apt-get install without package versions: each rebuild may install different ones',
  fix: 'pin each package: apt-get install curl=7.88.1-10+deb12u5 (apt-cache policy curl lists the versions)',
  hadolint: ['DL3008'],
  check: (df) =>
    unpinnedHits(df, (pc) => pc.manager === 'apt' && pc.action === 'install', (a) => !a.includes('=') && !isPath(a) && !a.endsWith('.deb'), 'apt-get install'),
};

export const apkUnpinned: Rule = {
  id: 'SL022',
  name: 'apk-version-unpinned',
  severity: 'info',
  description: 'apk add without package versions: each rebuild may install different ones',
  fix: 'pin each package: apk add curl=8.5.0-r0 (or a fuzzy pin such as curl~8.5)',
  hadolint: ['DL3018'],
  check: (df) => unpinnedHits(df, (pc) => pc.manager === 'apk' && pc.action === 'add', (a) => !/[=~<>]/.test(a) && !isPath(a) && !a.endsWith('.apk'), 'apk add'),
};

// A constraints file pins what it lists, so a pip install that takes one is judged pinned.
const constrained = (pc: PackageCommand) => pc.options.includes('-c') || pc.options.includes('--constraint');
const PIP_ARCHIVE = /\.(whl|tar\.gz|tgz|zip)$/;

export const pipUnpinned: Rule = {
  id: 'SL023',
  name: 'pip-version-unpinned',
  severity: 'info',
  description: 'pip install of packages without == versions: each rebuild may install different ones',
  fix: 'pin each package: pip install flask==3.0.2, or install from a requirements file of pinned versions (pip install -r requirements.txt)',
  hadolint: ['DL3013'],
  check: (df) =>
    unpinnedHits(
      df,
      (pc) => pc.manager === 'pip' && pc.action === 'install' && !constrained(pc),
      (a) => !/(===?|~=)/.test(a) && !a.includes('@') && !isPath(a) && !PIP_ARCHIVE.test(a),
      'pip install',
    ),
};
