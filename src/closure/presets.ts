/**
 * Files that traces most often miss and users most often report missing, opt-in by name
 * (`--keep certs,tz`). Each is a set of globs over absolute image paths.
 */
export const PRESETS = {
  app: {
    about: "the app's own files: every file no package (dpkg, apk) owns, or that a later layer rewrote, without caches, logs, temp files, docs and package-manager state",
    // Not a set of globs: src/closure/app.ts decides by the image's package databases.
    globs: [],
  },
  certs: {
    about: 'CA certificates and OpenSSL config (TLS clients read them lazily, per connection)',
    globs: ['/etc/ssl/**', '/usr/share/ca-certificates/**', '/etc/ca-certificates.conf', '/etc/ca-certificates/**', '/usr/lib/ssl/**', '/etc/pki/**', '/usr/local/share/ca-certificates/**'],
  },
  tz: {
    about: 'time zone data (read when a program first formats a local time)',
    globs: ['/usr/share/zoneinfo/**', '/etc/localtime', '/etc/timezone'],
  },
  nss: {
    about: 'name service and resolver config and modules (glibc dlopens libnss_* on the first lookup)',
    globs: ['/etc/nsswitch.conf', '/etc/host.conf', '/etc/gai.conf', '/etc/services', '/etc/protocols', '/etc/passwd', '/etc/group', '/{usr/,}lib{,64}/**/libnss_*', '/{usr/,}lib{,64}/**/libresolv*'],
  },
  locales: {
    about: 'compiled locales and the locale alias table',
    globs: ['/usr/lib/locale/**', '/usr/share/locale/locale.alias', '/usr/share/i18n/SUPPORTED', '/etc/default/locale'],
  },
  python: {
    about: "Python's standard library, which is imported lazily (tests and GUI toolkits left out)",
    globs: ['/usr/{local/,}lib/python3*/**', '!/usr/{local/,}lib/python3*/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3}/**', '!/usr/{local/,}lib/python3*/site-packages/**', '!/usr/{local/,}lib/python3*/dist-packages/**'],
  },
  node: {
    about: "Node's module resolution: every package.json and node_modules tree (packages load files on demand)",
    globs: ['/**/node_modules/**', '/**/package.json', '/usr/share/nodejs/**', '/usr/lib/node_modules/**'],
  },
  jvm: {
    about: "the JVM's native libraries, module image and config",
    globs: ['/usr/lib/jvm/**/lib/**', '/usr/lib/jvm/**/conf/**', '/opt/java/**/lib/**', '/opt/java/**/conf/**', '/etc/java*/**'],
  },
} as const satisfies Record<string, { about: string; globs: readonly string[] }>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(s: string): s is PresetName {
  return Object.hasOwn(PRESETS, s);
}
