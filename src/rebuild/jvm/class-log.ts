/**
 * The JVM's class-load log (`-Xlog:class+load`), read as evidence for `--rebuild jvm`: which
 * classes a traced run loaded and from where. A class from the runtime image names its module
 * (`jrt:/java.base`); one mapped from the class-data-sharing archive says only `shared objects
 * file`, so its module is found later from its package (see module-set.ts).
 */
export type ClassSource =
  | { kind: 'module'; module: string }
  | { kind: 'shared' }
  | { kind: 'file'; location: string }
  | { kind: 'other'; source: string };

export interface LoadedClass {
  name: string;
  source: ClassSource;
}

// [0.012s][info][class,load] java.lang.Object source: shared objects file
const LINE = /\[class,load\s*\]\s+(\S+)\s+source:\s+(.+?)\s*$/;

export function parseClassLoadLine(line: string): LoadedClass | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { name: m[1]!, source: sourceOf(m[2]!) };
}

function sourceOf(s: string): ClassSource {
  if (s.startsWith('jrt:/')) return { kind: 'module', module: s.slice(5).split('/')[0]! };
  if (s.startsWith('shared objects file')) return { kind: 'shared' };
  if (s.startsWith('file:') || s.startsWith('jar:')) return { kind: 'file', location: s };
  return { kind: 'other', source: s };
}

export interface ClassLoadEvidence {
  /** Modules named by classes loaded from the runtime image. */
  modules: Set<string>;
  /** Classes mapped from the CDS archive, whose module their package tells. */
  sharedClasses: Set<string>;
  /** Class files and jars loaded from outside the runtime image (the app's own). */
  appLocations: Set<string>;
  /** Locales whose locale-data classes were loaded (BCP 47 tags). */
  locales: Set<string>;
  /** Lines that were not class-load records. */
  skipped: number;
}

export function readClassLoadLog(text: string, into: ClassLoadEvidence = emptyEvidence()): ClassLoadEvidence {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const c = parseClassLoadLine(line);
    if (!c) {
      into.skipped++;
      continue;
    }
    if (c.source.kind === 'module') into.modules.add(c.source.module);
    else if (c.source.kind === 'shared') into.sharedClasses.add(c.name);
    else if (c.source.kind === 'file') into.appLocations.add(c.source.location);
    const locale = localeOfDataClass(c.name);
    if (locale) into.locales.add(locale);
  }
  return into;
}

export function emptyEvidence(): ClassLoadEvidence {
  return { modules: new Set(), sharedClasses: new Set(), appLocations: new Set(), locales: new Set(), skipped: 0 };
}

// sun.text.resources.cldr.ext.FormatData_de, sun.util.resources.cldr.ext.LocaleNames_de_CH, sun.util.resources.ext.CalendarData_th
const LOCALE_DATA = /^sun\.(?:text|util)\.resources\.(?:cldr\.)?(?:ext\.|provider\.)?[A-Z][A-Za-z]*?_([a-z]{2,3}(?:_[A-Za-z0-9]{2,8})*)$/;

/** The locale a JDK locale-data resource class holds, as a BCP 47 tag (`de-CH`); none for other classes. */
export function localeOfDataClass(name: string): string | undefined {
  const m = LOCALE_DATA.exec(name);
  return m ? m[1]!.replace(/_/g, '-') : undefined;
}
