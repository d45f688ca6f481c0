import { addForCopy, addRemote } from './rules/add.js';
import { baseTagOnly, baseUnpinned, untrustedRegistry } from './rules/base-image.js';
import { broadCopyBeforeInstall, manifestsNotFirst } from './rules/cache-order.js';
import { dockerignoreIncomplete, noDockerignore } from './rules/dockerignore.js';
import { badExpose, maintainer } from './rules/instructions.js';
import { deleteInLaterLayer } from './rules/layers.js';
import { aptRecommends, aptUpgrade, buildToolsShipped, cacheNotCleaned } from './rules/package-managers.js';
import { apkUnpinned, aptUnpinned, pipUnpinned } from './rules/pinning.js';
import { rootUser, secretsInBuildArgs, sudoInRun } from './rules/privileges.js';
import type { Rule } from './rules/rule.js';
import { repeatedStart, shellFormStart } from './rules/start.js';
import { cdInRun, relativeWorkdir } from './rules/workdir.js';

/** Every rule, in id order. */
export const RULES: readonly Rule[] = [
  manifestsNotFirst,
  broadCopyBeforeInstall,
  cacheNotCleaned,
  aptRecommends,
  aptUpgrade,
  rootUser,
  baseUnpinned,
  baseTagOnly,
  buildToolsShipped,
  noDockerignore,
  dockerignoreIncomplete,
  secretsInBuildArgs,
  addRemote,
  addForCopy,
  deleteInLaterLayer,
  relativeWorkdir,
  cdInRun,
  sudoInRun,
  shellFormStart,
  repeatedStart,
  aptUnpinned,
  apkUnpinned,
  pipUnpinned,
  maintainer,
  badExpose,
  untrustedRegistry,
];
