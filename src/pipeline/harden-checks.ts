import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BuildDeps, OpenedImage } from './build-types.js';
import type { BuildOptions } from './build-types.js';
import type { Check } from '../verify/checks.js';
import type { AccessRecord } from '../trace/record.js';
import type { ImagePath } from '../rootfs/entry.js';
import type { HardenReport, HardenStep } from '../report/report.js';
import { compareRuns, runChecked, type Checked, type RunLimits } from './verify-run.js';
import { runProbe } from '../probe/run-probe.js';
import { withOwnMounts } from './run-mounts.js';
import { identityOf } from './identity.js';
import { seccompProfile } from '../harden/seccomp.js';
import { suggestTmpfs } from '../harden/read-only.js';
import type { ToolVerdict } from '../harden/tools.js';
import { SlimError } from '../errors.js';
import type { Verdict } from '../verify/checks.js';

/** What --harden took out of the image before it was packed. */
export interface HardenContent {
  tools: { removed: ToolVerdict[]; kept: ToolVerdict[] };
  setid: ImagePath[];
}

export function isRoot(user: string | undefined): boolean {
  return !user || /^(?:root|0)(?::|$)/.test(user);
}

/**
 * The steps of --harden as the report lists them: what was removed or set in the image, then
 * the proofs on the slim image: its checks pass under a seccomp profile made from the system
 * calls it was seen making, and (reported, not required) with a read-only root.
 */
export async function hardenChecks(
  a: {
    opened: OpenedImage;
    slimId: string;
    original: Checked;
    check: Check;
    ports: number[];
    /** The slim image's run limits, from the original's baseline run. */
    slimLimits: RunLimits;
    records: AccessRecord[];
    ignore: string[];
    hardened: HardenContent;
    bakedUser: string | undefined;
    passed: boolean;
    opts: BuildOptions;
  },
  deps: BuildDeps,
): Promise<HardenReport> {
  const { log } = deps;
  const config = a.opened.img.config.config ?? {};
  const settings = a.opts.settings;
  const steps: HardenStep[] = [];
  steps.push({ step: 'setid', result: 'done', detail: a.hardened.setid.length ? `removed the setuid/setgid bits of ${a.hardened.setid.length} files` : 'no kept file had setuid/setgid bits', paths: a.hardened.setid });
  const { removed, kept } = a.hardened.tools;
  steps.push({ step: 'tools', result: 'done', detail: removed.length ? `left out ${removed.length} unused shells, package managers or compilers` : 'no unused shell, package manager or compiler was kept', paths: removed.map((r) => `${r.path} (${r.kind}; was kept by ${r.why})`) });
  if (kept.length) steps.push({ step: 'tools-used', result: 'done', detail: `kept ${kept.length} that the app uses`, paths: kept.map((k) => `${k.path} (${k.kind}; ${k.why})`) });
  if (a.bakedUser) steps.push({ step: 'user', result: 'done', detail: `the image ran as root; its USER is now ${a.bakedUser}, which every check ran as` });
  else if (isRoot(config.User) && !settings.user) steps.push({ step: 'user', result: 'warning', detail: 'the image runs as root: give --user UID[:GID] to set a non-root user, proven by the checks' });
  else steps.push({ step: 'user', result: 'done', detail: `runs as ${settings.user ?? config.User} (not root)` });

  const readOnly: HardenReport['readOnly'] = { result: 'skipped', tmpfs: suggestTmpfs(a.records, a.ignore) };
  let seccompProfilePath: string | undefined;
  if (!a.passed) {
    steps.push({ step: 'seccomp', result: 'skipped', detail: 'the slim image failed verification' });
    return { steps, readOnly };
  }

  log.step('hardening: recording the system calls of the slim image under the checks');
  let syscalls: string[] | undefined;
  try {
    const identity = await identityOf(a.opened, settings);
    const probe = await withOwnMounts(deps, settings, 'probe', (own) => runProbe({ ...deps, image: a.slimId, config, settings: own, identity, backend: 'strace', mode: 'syscalls', check: a.check, ports: a.ports, round: 'seccomp', ...a.slimLimits }));
    if (probe.run.passed && probe.syscalls.length > 0) syscalls = probe.syscalls;
    else steps.push({ step: 'seccomp', result: 'skipped', detail: `the syscall recording run did not pass: ${probe.run.summary}` });
  } catch (err) {
    if (!(err instanceof SlimError) || err.code === 'INTERRUPTED') throw err;
    steps.push({ step: 'seccomp', result: 'skipped', detail: `cannot record system calls here: ${err.message}` });
  }
  if (syscalls) {
    const profile = seccompProfile(syscalls, a.opened.img.config.architecture);
    seccompProfilePath = a.opts.harden!.seccompOut;
    await mkdir(dirname(seccompProfilePath), { recursive: true });
    await writeFile(seccompProfilePath, JSON.stringify(profile, null, 2) + '\n');
    log.step(`hardening: verifying with the seccomp profile (${profile.syscalls[0]!.names.length} system calls allowed)`);
    const v = await runChecked(deps, a.slimId, { ...settings, securityOpt: [...(settings.securityOpt ?? []), `seccomp=${JSON.stringify(profile)}`] }, a.check, 'verify-seccomp', config, { ports: a.ports, ...a.slimLimits }).then(
      (run) => compareRuns(a.check, a.original, run),
      (err: unknown) => {
        if (!(err instanceof SlimError) || err.code === 'INTERRUPTED') throw err;
        return { passed: false, summary: err.message };
      },
    );
    const output = 'output' in v ? v.output : undefined;
    steps.push({ step: 'seccomp', result: v.passed ? 'pass' : 'fail', detail: v.passed ? `the checks pass with ${seccompProfilePath} (${syscalls.length} system calls seen)` : v.summary, paths: [seccompProfilePath], ...(output ? { output } : {}) });
  }

  log.step(`hardening: verifying with a read-only root${readOnly.tmpfs.length ? ` and tmpfs at ${readOnly.tmpfs.join(', ')}` : ''}`);
  const ro = await runChecked(deps, a.slimId, { ...settings, readOnly: true, tmpfs: [...new Set([...settings.tmpfs, ...readOnly.tmpfs])] }, a.check, 'verify-read-only', config, { ports: a.ports, ...a.slimLimits });
  const rv = compareRuns(a.check, a.original, ro);
  readOnly.result = rv.passed ? 'pass' : 'fail';
  if (!rv.passed) readOnly.detail = rv.summary;
  // A tmpfs over a directory the image has files in hides them: the usual reason the check fails.
  const hidden = readOnly.tmpfs.map((t) => [t, countBelow(a.opened, t)] as const).filter(([, n]) => n > 0);
  const note = hidden.length ? `; a tmpfs at ${hidden.map(([t, n]) => `${t} hides ${n} entries of the image`).join(', ')}: mount a volume there instead` : '';
  steps.push({ step: 'read-only', result: rv.passed ? 'pass' : 'warning', detail: rv.passed ? `the checks pass with --read-only${readOnly.tmpfs.map((t) => ` --tmpfs ${t}`).join('')}` : `with --read-only${readOnly.tmpfs.map((t) => ` --tmpfs ${t}`).join('')}: ${rv.summary}${note}` });
  return { steps, readOnly, ...(seccompProfilePath ? { seccompProfile: seccompProfilePath } : {}) };
}

function countBelow({ img }: OpenedImage, dir: string): number {
  let n = 0;
  const stack = [dir];
  while (stack.length) {
    for (const child of img.index.children(stack.pop()!)) {
      n++;
      if (child.kind === 'dir') stack.push(child.path);
    }
  }
  return n;
}

/** A slim image that passes only without its seccomp profile has not passed --harden. */
export function withSeccompVerdict(verdict: Verdict, harden: HardenReport | null): Verdict {
  const seccomp = harden?.steps.find((s) => s.step === 'seccomp');
  // The lines shown are then the seccomp run's: the plain run passed and says nothing of why.
  return verdict.passed && seccomp?.result === 'fail' ? { ...verdict, passed: false, summary: `with the seccomp profile: ${seccomp.detail}`, ...(seccomp.output ? { output: seccomp.output } : {}) } : verdict;
}
