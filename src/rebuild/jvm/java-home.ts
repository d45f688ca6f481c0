import { posix } from 'node:path';
import type { FileIndex } from '../../rootfs/file-index.js';

/** A Java runtime in an image: the files `--rebuild jvm` replaces, checks or needs. */
export interface JavaHome {
  home: string;
  /** The runtime image: the one file a rebuild replaces. */
  modules: string;
  modulesSize: number;
  libjvm: string;
  launcher: string;
  /** The class-data-sharing archive shipped for these modules, when there is one. */
  cdsArchive?: string;
  /** The JDK's own `jmods`, when the image has them: jlink needs no helper image then. */
  jmods?: string;
}

/** Every Java home in the image: a directory holding `lib/modules`, `lib/server/libjvm.so` and `bin/java`. */
export function findJavaHomes(index: FileIndex): JavaHome[] {
  const homes: JavaHome[] = [];
  for (const e of index.values()) {
    if (e.kind !== 'file' || posix.basename(e.path) !== 'modules' || posix.basename(posix.dirname(e.path)) !== 'lib') continue;
    const home = posix.dirname(posix.dirname(e.path));
    const at = (p: string) => posix.join(home, p);
    const libjvm = at('lib/server/libjvm.so');
    const launcher = at('bin/java');
    if (!index.has(libjvm) || !index.has(launcher)) continue;
    const jsa = at('lib/server/classes.jsa');
    const jmods = at('jmods');
    homes.push({
      home,
      modules: e.path,
      modulesSize: e.size,
      libjvm,
      launcher,
      ...(index.get(jsa)?.kind === 'file' ? { cdsArchive: jsa } : {}),
      ...(index.get(posix.join(jmods, 'java.base.jmod'))?.kind === 'file' ? { jmods } : {}),
    });
  }
  return homes.sort((a, b) => (a.home < b.home ? -1 : a.home > b.home ? 1 : 0));
}
