import picomatch from 'picomatch';
import { flagValue, shippedStages, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { allCommands, runCommands, unwrap, type Argv } from './shell.js';
import { isBuildTool, isDependencyInstall, isManifestSource, isSystemInstall, isSystemRemove, packageCommand, type PackageCommand } from './packages.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
  /** 1-based; 0 when the finding is about the build context rather than a line. */
  line: number;
  /** The stage's name or index; null for global ARGs and the build context. */
  stage: string | null;
  message: string;
  fix: string;
}

/** What the rules know beyond the Dockerfile text. */
export interface LintContext {
  /** The context's .dockerignore: its text, null when there is none, undefined when not looked at. */
  dockerignore?: string | null;
}

/** One occurrence; the rule supplies id, and severity and fix unless the hit overrides them. */
export interface Hit {
  line: number;
  stage: string | null;
  message: string;
  severity?: Severity;
  fix?: string;
}

export interface Rule {
  id: string;
  severity: Severity;
  description: string;
  fix: string;
  check(df: ParsedDockerfile, ctx: LintContext): Hit[];
}

// ---------------------------------------------------------------------------------------------
// Shared readings of the model

const runs = (stage: Stage): Instruction[] => stage.instructions.filter((i) => i.keyword === 'RUN');

function packageCommands(instr: Instruction): PackageCommand[] {
  return allCommands(instr).flatMap((argv) => packageCommand(argv) ?? []);
}

/** A cache mount keeps the package cache out of the layer, so cleaning it is moot. */
function hasCacheMount(instr: Instruction): boolean {
  return instr.flags.some((f) => f.name === 'mount' && /(^|,)type=cache(,|$)/.test(f.value ?? ''));
}

/** COPY/ADD sources and destination, from either form; heredoc sources are not context files. */
function copyOperands(instr: Instruction): { sources: string[]; dest: string } {
  const words = instr.exec ?? instr.words;
  const heredocs = new Set(instr.heredocs.map((h) => h.name));
  const sources = words.slice(0, -1).filter((w) => !/^<<-?/.test(w) || !heredocs.has(w.replace(/^<<-?["']?|["']?$/g, '')));
  return { sources, dest: words[words.length - 1] ?? '' };
}

/** A COPY of the whole build context (`COPY . .`, `COPY ./ /app`, `ADD * /src/`). */
function isBroadCopy(instr: Instruction): boolean {
  if ((instr.keyword !== 'COPY' && instr.keyword !== 'ADD') || flagValue(instr, 'from') !== undefined) return false;
  return copyOperands(instr).sources.some((s) => ['.', './', '*', './*', '/'].includes(s));
}

function isManifestCopy(instr: Instruction): boolean {
  if (instr.keyword !== 'COPY' || flagValue(instr, 'from') !== undefined) return false;
  return copyOperands(instr).sources.some(isManifestSource);
}

function inStage(stage: Stage): string {
  return stage.name !== null ? `stage "${stage.name}"` : `stage ${stage.index}`;
}

function isUrl(s: string): boolean {
  return /^(https?|git):\/\//i.test(s) || /^git@/.test(s);
}

function absolute(path: string, workdir: string): string {
  const joined = path.startsWith('/') ? path : `${workdir.replace(/\/$/, '')}/${path}`;
  const out: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

function nextWorkdir(instr: Instruction, workdir: string): string {
  const path = instr.words[0];
  return instr.keyword === 'WORKDIR' && path !== undefined && !path.includes('$') ? absolute(path, workdir) : workdir;
}

// ---------------------------------------------------------------------------------------------
// Rules

/** Both cache-order rules: an install RUN that follows a COPY of the whole context. */
function installsAfterBroadCopy(df: ParsedDockerfile): { stage: Stage; copy: Instruction; install: Instruction; manifestsFirst: boolean }[] {
  const out: { stage: Stage; copy: Instruction; install: Instruction; manifestsFirst: boolean }[] = [];
  for (const stage of df.stages) {
    let broad: Instruction | null = null;
    let manifestsFirst = false;
    for (const instr of stage.instructions) {
      if (broad === null && isBroadCopy(instr)) broad = instr;
      else if (broad === null && isManifestCopy(instr)) manifestsFirst = true;
      else if (broad !== null && instr.keyword === 'RUN' && packageCommands(instr).some(isDependencyInstall)) {
        out.push({ stage, copy: broad, install: instr, manifestsFirst });
      }
    }
  }
  return out;
}

const manifestsNotFirst: Rule = {
  id: 'SL001',
  severity: 'warning',
  description: 'dependencies are installed after the whole context is copied, with no manifest-only COPY before it',
  fix: 'COPY only the manifests (package.json and its lock file, requirements.txt, go.mod/go.sum…), RUN the install, then COPY the source',
  check: (df) =>
    installsAfterBroadCopy(df)
      .filter((x) => !x.manifestsFirst)
      .map(({ stage, copy, install }) => ({
        line: install.line,
        stage: stage.label,
        message: `dependency install in ${inStage(stage)} runs after line ${copy.line} copied the whole context: any source change re-runs it`,
      })),
};

const broadCopyBeforeInstall: Rule = {
  id: 'SL002',
  severity: 'warning',
  description: 'the whole context is copied before the dependency install, although the manifests were copied on their own',
  fix: 'move this COPY after the dependency install RUN',
  check: (df) => {
    const seen = new Set<Instruction>();
    return installsAfterBroadCopy(df)
      .filter((x) => x.manifestsFirst && !seen.has(x.copy) && seen.add(x.copy))
      .map(({ stage, copy, install }) => ({
        line: copy.line,
        stage: stage.label,
        message: `COPY of the whole context in ${inStage(stage)} comes before the dependency install at line ${install.line}: any source change invalidates it`,
      }));
  },
};

interface CacheCheck {
  manager: string;
  installs: (pc: PackageCommand) => boolean;
  cleaned: (pc: PackageCommand, commands: Argv[], stage: Stage[]) => boolean;
  fix: string;
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
  },
  {
    manager: 'apk',
    installs: (pc) => pc.manager === 'apk' && pc.action === 'add',
    cleaned: (pc, cmds) => pc.options.includes('--no-cache') || removes(cmds, /^\/var\/cache\/apk/),
    fix: 'use `apk add --no-cache`',
  },
  {
    manager: 'pip',
    installs: (pc) => pc.manager === 'pip' && pc.action === 'install',
    cleaned: (pc, cmds, chain) =>
      pc.options.includes('--no-cache-dir') || removes(cmds, /\.cache\/pip|\/root\/\.cache/) ||
      chain.some((s) => s.instructions.some((i) => i.keyword === 'ENV' && i.properties.some((p) => p.name === 'PIP_NO_CACHE_DIR'))),
    fix: 'use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1)',
  },
  {
    manager: 'npm',
    installs: (pc) => pc.manager === 'npm' && ['install', 'i', 'ci'].includes(pc.action),
    cleaned: (_pc, cmds) => runsCommand(cmds, /^npm cache clean/) || removes(cmds, /\.npm(\/|$)/),
    fix: 'end the same RUN with `&& npm cache clean --force` (or use RUN --mount=type=cache,target=/root/.npm)',
  },
  {
    manager: 'yum/dnf',
    installs: (pc) => ['yum', 'dnf', 'microdnf'].includes(pc.manager) && pc.action === 'install',
    cleaned: (_pc, cmds) => runsCommand(cmds, /^(yum|dnf|microdnf) .*clean all/) || removes(cmds, /^\/var\/cache\/(yum|dnf)/),
    fix: 'end the same RUN with `&& yum clean all && rm -rf /var/cache/yum` (dnf: `dnf clean all`)',
  },
];

const cacheNotCleaned: Rule = {
  id: 'SL003',
  severity: 'warning',
  description: 'a package manager leaves its cache in the layer',
  fix: 'clean the cache in the same RUN, or use RUN --mount=type=cache',
  check: (df) => {
    const chain = shippedStages(df);
    return chain.flatMap((stage) =>
      runs(stage)
        .filter((run) => !hasCacheMount(run))
        .flatMap((run) => {
          const cmds = allCommands(run);
          const pcs = packageCommands(run);
          return CACHE_CHECKS.filter((c) => pcs.some((pc) => c.installs(pc) && !c.cleaned(pc, cmds, chain))).map((c) => ({
            line: run.line,
            stage: stage.label,
            message: `${c.manager} cache is left in the layer in ${inStage(stage)}`,
            fix: c.fix,
          }));
        }),
    );
  },
};

const aptRecommends: Rule = {
  id: 'SL004',
  severity: 'warning',
  description: 'apt-get install pulls in recommended packages',
  fix: 'use `apt-get install -y --no-install-recommends`',
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

const aptUpgrade: Rule = {
  id: 'SL005',
  severity: 'info',
  description: 'apt-get upgrade in the image: unreproducible, and the base image is the place for updates',
  fix: 'rebuild on a newer base image tag instead of upgrading in place',
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      runs(stage)
        .filter((run) => packageCommands(run).some((pc) => pc.manager === 'apt' && ['upgrade', 'dist-upgrade', 'full-upgrade'].includes(pc.action)))
        .map((run) => ({ line: run.line, stage: stage.label, message: `apt-get upgrade in ${inStage(stage)}` })),
    ),
};

const rootUser: Rule = {
  id: 'SL006',
  severity: 'warning',
  description: 'the final image runs as root',
  fix: 'create a user (or use a numeric uid such as 65532) and end the final stage with USER <name|uid>',
  check: (df) => {
    const chain = shippedStages(df);
    const final = chain[chain.length - 1];
    if (!final) return [];
    const users = chain.flatMap((s) => s.instructions.filter((i) => i.keyword === 'USER'));
    const last = users[users.length - 1];
    if (!last) {
      // Distroless `:nonroot` images set a non-root USER in their config.
      if (chain.some((s) => /nonroot/.test(s.base.resolved ?? ''))) return [];
      return [{ line: final.line, stage: final.label, message: `no USER in ${inStage(final)}, the final one: the container runs as root` }];
    }
    const user = (last.words[0] ?? '').split(':')[0];
    return user === 'root' || user === '0'
      ? [{ line: last.line, stage: final.label, message: `${inStage(final)}, the final one, ends with USER ${last.words[0]}: the container runs as root` }]
      : [];
  },
};

function baseHits(df: ParsedDockerfile, want: (s: Stage) => string | null): Hit[] {
  return df.stages.flatMap((stage) => {
    const b = stage.base;
    if (b.scratch || b.stage !== null || b.resolved === null || b.digest !== null) return [];
    const message = want(stage);
    if (message === null) return [];
    const via = b.viaArg !== null ? ` (the default of ARG ${b.viaArg})` : '';
    return [{ line: stage.line, stage: stage.label, message: `${message}${via}` }];
  });
}

const baseUnpinned: Rule = {
  id: 'SL007',
  severity: 'warning',
  description: 'base image without a tag, or :latest: the build changes under you',
  fix: 'pin a version tag and its digest: FROM image:1.2.3@sha256:…',
  check: (df) =>
    baseHits(df, (s) =>
      s.base.tag === null ? `base image ${s.base.resolved} has no tag (means :latest)` : s.base.tag === 'latest' ? `base image ${s.base.resolved} is :latest` : null,
    ),
};

const baseTagOnly: Rule = {
  id: 'SL008',
  severity: 'info',
  description: 'base image pinned by tag only: tags move',
  fix: 'add the digest: FROM image:tag@sha256:… (docker buildx imagetools inspect image:tag prints it)',
  check: (df) =>
    baseHits(df, (s) => (s.base.tag !== null && s.base.tag !== 'latest' ? `base image ${s.base.resolved} is pinned by tag, not digest` : null)),
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

const buildToolsShipped: Rule = {
  id: 'SL009',
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

const noDockerignore: Rule = {
  id: 'SL010',
  severity: 'warning',
  description: 'no .dockerignore: the whole directory (.git, node_modules, .env…) is sent to the builder and COPY . . takes it in',
  fix: 'add a .dockerignore next to the Dockerfile with at least .git, node_modules and .env',
  check: (_df, ctx) => (ctx.dockerignore === null ? [{ line: 0, stage: null, message: 'no .dockerignore in the build context' }] : []),
};

const MUST_IGNORE: { name: string; probe: string }[] = [
  { name: '.git', probe: '.git/HEAD' },
  { name: 'node_modules', probe: 'node_modules/x/index.js' },
  { name: '.env', probe: '.env' },
];

/** The builder's reading: the last matching pattern wins, `!` re-includes, a pattern also covers what is under a match. */
export function dockerignoreExcludes(text: string, path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).trim().replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    if (pattern === '') continue;
    const match = picomatch(pattern, { dot: true });
    if (candidates.some((c) => match(c))) excluded = !negate;
  }
  return excluded;
}

const dockerignoreIncomplete: Rule = {
  id: 'SL011',
  severity: 'warning',
  description: '.dockerignore does not exclude .git, node_modules or .env',
  fix: 'add the missing entries to .dockerignore',
  check: (_df, ctx) => {
    if (typeof ctx.dockerignore !== 'string') return [];
    const text = ctx.dockerignore;
    const missing = MUST_IGNORE.filter((m) => !dockerignoreExcludes(text, m.probe)).map((m) => m.name);
    return missing.length === 0
      ? []
      : [{ line: 0, stage: null, message: `.dockerignore does not exclude ${missing.join(', ')}`, fix: `add ${missing.join(', ')} to .dockerignore` }];
  },
};

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|CREDENTIALS/i;
// A name for where the secret lives is not the secret (`PASSWORD_FILE` is the Docker-secrets convention).
const SECRET_REFERENCE = /_(FILE|PATH|DIR|URL)$/i;

const secretsInBuildArgs: Rule = {
  id: 'SL012',
  severity: 'error',
  description: 'a secret passed as ARG or ENV: ENV stays in the image config, ARG in its build history',
  fix: 'pass it with RUN --mount=type=secret,id=NAME (docker build --secret id=NAME,…) and read /run/secrets/NAME',
  check: (df) => {
    const where = [{ stage: null as Stage | null, instrs: df.globalArgs }, ...df.stages.map((s) => ({ stage: s as Stage | null, instrs: s.instructions }))];
    return where.flatMap(({ stage, instrs }) =>
      instrs
        .filter((i) => i.keyword === 'ARG' || i.keyword === 'ENV')
        .flatMap((i) =>
          i.properties
            .filter((p) => SECRET_NAME.test(p.name) && !SECRET_REFERENCE.test(p.name))
            .map((p) => ({
              line: p.line,
              stage: stage?.label ?? null,
              severity: (i.keyword === 'ENV' ? 'error' : 'warning') as Severity,
              message: `${i.keyword} ${p.name} ${i.keyword === 'ENV' ? 'stores a secret in the image config' : 'records a secret in the build history'}${stage ? ` (${inStage(stage)})` : ''}`,
            })),
        ),
    );
  },
};

const adds = (df: ParsedDockerfile) => df.stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'ADD').map((instr) => ({ stage, instr })));

const addRemote: Rule = {
  id: 'SL013',
  severity: 'warning',
  description: 'ADD of a remote URL without a checksum: whatever the server returns goes into the image',
  fix: 'use ADD --checksum=sha256:… URL, or RUN curl -fsSL URL -o FILE && echo "SHA256  FILE" | sha256sum -c -',
  check: (df) =>
    adds(df)
      .filter(({ instr }) => flagValue(instr, 'checksum') == null && copyOperands(instr).sources.some(isUrl))
      .map(({ stage, instr }) => ({ line: instr.line, stage: stage.label, message: `ADD of a remote URL without --checksum in ${inStage(stage)}` })),
};

const ARCHIVE = /\.(tar|tar\.(gz|bz2|xz|zst)|tgz|tbz2?|txz|tzst)$/i;

const addForCopy: Rule = {
  id: 'SL014',
  severity: 'info',
  description: 'ADD where COPY suffices: ADD also unpacks archives and fetches URLs, COPY says what happens',
  fix: 'use COPY',
  check: (df) =>
    adds(df)
      .filter(({ instr }) => copyOperands(instr).sources.every((s) => !isUrl(s) && !ARCHIVE.test(s)))
      .map(({ stage, instr }) => ({ line: instr.line, stage: stage.label, message: `ADD of local files that are not archives in ${inStage(stage)}` })),
};

/** Paths a RUN creates that a later RUN might delete: package caches and explicit outputs. */
function pathsCreatedBy(run: Instruction, workdir: string): string[] {
  const out: string[] = [];
  for (const pc of packageCommands(run)) {
    if (pc.manager === 'apt') out.push('/var/lib/apt/lists', '/var/cache/apt');
    if (pc.manager === 'apk' && !pc.options.includes('--no-cache')) out.push('/var/cache/apk');
    if (pc.manager === 'pip') out.push('/root/.cache/pip');
    if (pc.manager === 'npm') out.push('/root/.npm');
    if (pc.manager === 'yum' || pc.manager === 'dnf') out.push(`/var/cache/${pc.manager}`);
  }
  for (const raw of allCommands(run)) {
    const argv = unwrap(raw);
    const args = argv.slice(1).filter((w) => !w.startsWith('-'));
    const optionValue = (...names: string[]) => argv.flatMap((w, i) => (names.includes(w) && argv[i + 1] ? [argv[i + 1]!] : []));
    switch (argv[0]) {
      case 'mkdir': case 'touch': out.push(...args); break;
      case 'cp': case 'mv': case 'ln': if (args.length > 1) out.push(args[args.length - 1]!); break;
      case 'curl': out.push(...optionValue('-o', '--output')); break;
      case 'wget': out.push(...optionValue('-O', '--output-document', '-P')); break;
      case 'git': if (args[0] === 'clone' && args.length > 2) out.push(args[args.length - 1]!); break;
      case 'tar': out.push(...optionValue('-C', '--directory')); break;
      case 'unzip': out.push(...optionValue('-d')); break;
    }
  }
  return out.filter((p) => !p.includes('$')).map((p) => absolute(p, workdir));
}

/** `rm -rf /var/lib/apt/lists/*` → /var/lib/apt/lists: the part before the first glob. */
function removedPaths(run: Instruction, workdir: string): { shown: string; path: string }[] {
  return allCommands(run)
    .map(unwrap)
    .filter((argv) => argv[0] === 'rm')
    .flatMap((argv) => argv.slice(1).filter((w) => !w.startsWith('-') && !w.includes('$')))
    .map((shown) => {
      const parts = absolute(shown, workdir).split('/');
      const glob = parts.findIndex((p) => /[*?[]/.test(p));
      return { shown, path: (glob >= 0 ? parts.slice(0, glob) : parts).join('/') || '/' };
    })
    .filter((r) => r.path !== '/');
}

const overlaps = (a: string, b: string) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');

const deleteInLaterLayer: Rule = {
  id: 'SL015',
  severity: 'warning',
  description: 'a RUN deletes what an earlier layer added: the bytes stay in that layer',
  fix: 'delete in the same RUN that creates the files, or build in a separate stage and COPY --from only what is needed',
  check: (df) => {
    const hits: Hit[] = [];
    const created: { path: string; line: number }[] = [];
    let workdir = '/';
    for (const stage of shippedStages(df)) {
      for (const instr of stage.instructions) {
        workdir = nextWorkdir(instr, workdir);
        if (instr.keyword === 'RUN') {
          const earlier = [...created];
          for (const r of removedPaths(instr, workdir)) {
            const origin = earlier.find((c) => overlaps(c.path, r.path));
            if (origin) hits.push({ line: instr.line, stage: stage.label, message: `RUN removes ${r.shown}, which line ${origin.line} added to an earlier layer` });
          }
          created.push(...pathsCreatedBy(instr, workdir).map((path) => ({ path, line: instr.line })));
        } else if ((instr.keyword === 'COPY' || instr.keyword === 'ADD') && !copyOperands(instr).dest.includes('$')) {
          created.push({ path: absolute(copyOperands(instr).dest, workdir), line: instr.line });
        }
      }
    }
    // One finding per RUN is enough to act on.
    return hits.filter((h, i) => hits.findIndex((o) => o.line === h.line) === i);
  },
};

const relativeWorkdir: Rule = {
  id: 'SL016',
  severity: 'warning',
  description: 'WORKDIR with a relative path depends on every WORKDIR before it',
  fix: 'use an absolute path: WORKDIR /app',
  check: (df) =>
    df.stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === 'WORKDIR' && i.words[0] !== undefined && !/^([/$]|[A-Za-z]:[\\/])/.test(i.words[0]))
        .map((i) => ({ line: i.line, stage: stage.label, message: `WORKDIR ${i.words[0]} is relative (${inStage(stage)})` })),
    ),
};

// A heredoc RUN is a script, where cd is ordinary; only a cd on the RUN line itself stands in for WORKDIR.
const cdInRun: Rule = {
  id: 'SL017',
  severity: 'info',
  description: 'cd in RUN instead of WORKDIR',
  fix: 'set the directory with WORKDIR /path',
  check: (df) =>
    df.stages.flatMap((stage) =>
      runs(stage)
        .filter((run) => runCommands(run).line.some((argv) => argv[0] === 'cd'))
        .map((run) => ({ line: run.line, stage: stage.label, message: `cd in RUN in ${inStage(stage)}` })),
    ),
};

const sudoInRun: Rule = {
  id: 'SL018',
  severity: 'warning',
  description: 'sudo in RUN: the build already runs as root until USER, and sudo left in the image is an escalation path',
  fix: 'drop sudo; switch with USER root … USER app around the step that needs root',
  check: (df) =>
    df.stages.flatMap((stage) =>
      runs(stage)
        .filter((run) => allCommands(run).some((argv) => argv[0] === 'sudo'))
        .map((run) => ({ line: run.line, stage: stage.label, message: `sudo in RUN in ${inStage(stage)}` })),
    ),
};

const shellFormStart: Rule = {
  id: 'SL019',
  severity: 'warning',
  description: 'shell-form CMD/ENTRYPOINT: /bin/sh -c is PID 1 and does not forward SIGTERM to the app',
  fix: 'use the exec form: CMD ["app", "--flag"] (or start the shell form with exec)',
  check: (df) =>
    shippedStages(df).flatMap((stage) =>
      stage.instructions
        .filter((i) => (i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT') && i.exec === null && i.words.length > 0 && i.words[0] !== 'exec')
        .map((i) => ({ line: i.line, stage: stage.label, message: `${i.keyword} in shell form in ${inStage(stage)}` })),
    ),
};

const repeatedStart: Rule = {
  id: 'SL020',
  severity: 'warning',
  description: 'more than one CMD or ENTRYPOINT in a stage: only the last one counts',
  fix: 'keep only the last CMD/ENTRYPOINT of the stage',
  check: (df) =>
    df.stages.flatMap((stage) =>
      (['CMD', 'ENTRYPOINT'] as const).flatMap((kw) => {
        const all = stage.instructions.filter((i) => i.keyword === kw);
        return all.slice(0, -1).map((i) => ({
          line: i.line,
          stage: stage.label,
          message: `${kw} at line ${i.line} is overridden by the ${kw} at line ${all[all.length - 1]!.line} in ${inStage(stage)}`,
        }));
      }),
    ),
};

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
];
