import picomatch from 'picomatch';
import { basename, unwrap, type Argv } from './shell.js';

/** Package-manager invocations, recognised from a simple command's argv. */
export type Manager =
  | 'apt' | 'apk' | 'yum' | 'dnf' | 'microdnf' | 'zypper'
  | 'pip' | 'poetry' | 'pipenv' | 'uv' | 'npm' | 'yarn' | 'pnpm'
  | 'go' | 'cargo' | 'bundle' | 'gem' | 'composer' | 'mvn' | 'dotnet';

export interface PackageCommand {
  manager: Manager;
  /** The subcommand (`install`, `add`, `ci`…), '' when there is none. */
  action: string;
  /** Non-option arguments after the action: package names, versions stripped. */
  packages: string[];
  /** The same arguments as written, versions included. */
  args: string[];
  options: string[];
}

/** Options whose value is the next word, so the value is not a package name. */
const VALUE_OPTIONS: Partial<Record<Manager, Set<string>>> = {
  apt: new Set(['-o', '-t', '-c', '--target-release', '--option', '--config-file']),
  apk: new Set(['-t', '--virtual', '-X', '--repository', '-p', '--root', '--arch']),
  pip: new Set(['-r', '--requirement', '-c', '--constraint', '-i', '--index-url', '--extra-index-url', '-e', '--editable', '-t', '--target', '--prefix', '-f', '--find-links']),
  yum: new Set(['--enablerepo', '--disablerepo', '--setopt']),
  dnf: new Set(['--enablerepo', '--disablerepo', '--setopt']),
};

const COMMANDS: Record<string, Manager> = {
  'apt-get': 'apt', apt: 'apt', aptitude: 'apt', apk: 'apk', yum: 'yum', dnf: 'dnf', microdnf: 'microdnf', zypper: 'zypper',
  poetry: 'poetry', pipenv: 'pipenv', uv: 'uv', npm: 'npm', yarn: 'yarn', pnpm: 'pnpm', go: 'go', cargo: 'cargo',
  bundle: 'bundle', gem: 'gem', composer: 'composer', mvn: 'mvn', mvnw: 'mvn', dotnet: 'dotnet',
};

export function packageCommand(raw: Argv): PackageCommand | null {
  let argv = unwrap(raw);
  const cmd = basename(argv[0] ?? '');
  let manager: Manager | undefined = COMMANDS[cmd];
  if (/^pip[0-9.]*$/.test(cmd)) manager = 'pip';
  // `python3 -m pip install …` is pip.
  if (/^python[0-9.]*$/.test(cmd) && argv[1] === '-m' && /^pip[0-9.]*$/.test(argv[2] ?? '')) {
    manager = 'pip';
    argv = argv.slice(2);
  }
  if (!manager) return null;
  const valueOptions = VALUE_OPTIONS[manager] ?? new Set<string>();
  const options: string[] = [];
  const positional: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith('-')) {
      options.push(w);
      if (valueOptions.has(w) && i + 1 < argv.length) options.push(argv[++i]!);
    } else positional.push(w);
  }
  const [action = '', ...rest] = positional;
  return { manager, action, packages: rest.map((p) => p.replace(/[=<>~!].*$/, '')), args: rest, options };
}

const SYSTEM_INSTALL: Partial<Record<Manager, string[]>> = {
  apt: ['install'], apk: ['add'], yum: ['install', 'groupinstall'], dnf: ['install', 'groupinstall'], microdnf: ['install'], zypper: ['install', 'in'],
};

/** Installs OS packages: the ones whose caches and build tools matter. */
export function isSystemInstall(pc: PackageCommand): boolean {
  return SYSTEM_INSTALL[pc.manager]?.includes(pc.action) ?? false;
}

export function isSystemRemove(pc: PackageCommand): boolean {
  const removes: Partial<Record<Manager, string[]>> = {
    apt: ['remove', 'purge', 'autoremove'], apk: ['del'], yum: ['remove', 'erase'], dnf: ['remove', 'erase'], microdnf: ['remove'], zypper: ['remove', 'rm'],
  };
  return removes[pc.manager]?.includes(pc.action) ?? false;
}

/**
 * Installs the project's dependencies from its manifests (the step that should be cached apart
 * from the source). `npm install express` installs a named package, not the manifest's, so it is not one.
 */
export function isDependencyInstall(pc: PackageCommand): boolean {
  const { manager: m, action: a, packages, options } = pc;
  switch (m) {
    case 'npm': return (a === 'ci' || ((a === 'install' || a === 'i') && packages.length === 0)) && !options.includes('-g') && !options.includes('--global');
    case 'yarn': return a === '' || (a === 'install' && packages.length === 0);
    case 'pnpm': return (a === 'install' || a === 'i') && packages.length === 0;
    case 'pip': return a === 'install' && (options.includes('-r') || options.includes('--requirement'));
    case 'poetry': return a === 'install';
    case 'pipenv': return (a === 'install' || a === 'sync') && packages.length === 0;
    case 'uv': return a === 'sync' || (a === 'pip' && packages[0] === 'install' && (options.includes('-r') || options.includes('--requirement')));
    case 'go': return a === 'mod' && packages[0] === 'download';
    case 'cargo': return a === 'fetch';
    case 'bundle': return a === 'install' || a === '';
    case 'composer': return a === 'install';
    case 'mvn': return /^dependency:(go-offline|resolve)/.test(a);
    case 'dotnet': return a === 'restore';
    default: return false;
  }
}

const MANIFEST = /^(package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|\.npmrc|\.yarnrc(\.yml)?|requirements.*\.txt|pyproject\.toml|poetry\.lock|Pipfile(\.lock)?|uv\.lock|setup\.(py|cfg)|go\.(mod|sum)|Gemfile(\.lock)?|.*\.gemspec|Cargo\.(toml|lock)|pom\.xml|composer\.(json|lock)|.*\.(cs|fs|vb)proj|packages\.lock\.json|Directory\.Packages\.props)$/;
const MANIFEST_SAMPLES = ['package.json', 'package-lock.json', 'yarn.lock', 'requirements.txt', 'pyproject.toml', 'go.mod', 'go.sum', 'Gemfile', 'Cargo.toml', 'pom.xml', 'composer.json', 'app.csproj'];

/** A COPY source that is a dependency manifest (or a glob such as `package*.json` that picks some). */
export function isManifestSource(src: string): boolean {
  const name = basename(src.replace(/\/+$/, ''));
  if (MANIFEST.test(name)) return true;
  return /[*?[]/.test(name) && MANIFEST_SAMPLES.some((sample) => picomatch(name)(sample));
}

const BUILD_TOOL = /^(gcc|gcc-c\+\+|g\+\+|cpp|clang|llvm|make|cmake|ninja|ninja-build|meson|build-essential|build-base|alpine-sdk|autoconf|automake|libtool|pkg-config|pkgconf|golang|golang-go|go|cargo|rustc|rust|linux-headers|kernel-headers|.+-dev|.+-devel)$/;

export function isBuildTool(pkg: string): boolean {
  return BUILD_TOOL.test(pkg.replace(/:[a-z0-9]+$/, ''));
}
