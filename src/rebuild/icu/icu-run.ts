import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import type { Runtime, VolumeMount } from '../../runtime/runtime.js';
import type { Scope } from '../../runtime/scope.js';
import { probesDir } from '../../probe/probe-image.js';
import { ensureHelperImage } from '../helper-image.js';
import { HelperFailed, openHelper, WORK_DIR, type HelperContainer } from '../helper-container.js';
import { dataSymbol, fileOffsetOf, packageName, parseItemList, sonameOf, type IcuData, type IcuSource } from './icu-data.js';

/** Where the helper's volume is mounted, read-only, in the traced runs and the checks. */
export const ICU_MOUNT = '/.slim-icu';
export const CHECKER = `${ICU_MOUNT}/chk/slim-icu-check`;

type Deps = { runtime: Runtime; scope: Scope; log: Logger };

/**
 * The image's ICU data taken apart in a helper of the same ICU version: every item as a file
 * (for a run with ICU_DATA to open, one by one), the checker compiled against the same ICU, and
 * the library rebuilt from a set of items. Open while the traced runs and checks use its volume.
 */
export interface IcuWorkbench {
  /** Every item the image's data package holds. */
  all: Set<string>;
  /** The package directory of all items, and of the kept ones, as the mounted runs see them. */
  itemsDir: string;
  keptDir: string;
  mount: VolumeMount;
  /** Link a library of these items, with the image's soname, into a file on this machine; its size. */
  rebuild(items: readonly string[], hostFile: string): Promise<number>;
  close(): Promise<void>;
}

export async function openIcuWorkbench(lib: IcuData, source: Extract<IcuSource, { kind: 'helper' }>, sha256: string, tmp: string, deps: Deps): Promise<IcuWorkbench> {
  const { runtime, scope, log } = deps;
  const { built } = await ensureHelperImage(runtime, source, log, scope.signal, tmp);
  const pkg = packageName(lib.major);
  const helper = await openHelper(deps, source.tag, 'icu', [
    { name: 'items', mode: 0o755 },
    { name: 'kept', mode: 0o755 },
    { name: 'out', mode: 0o755 },
    { name: 'chk', mode: 0o755 },
    { name: 'slim-icu-check.c', mode: 0o644, body: readFileSync(join(probesDir(), 'icu', 'slim-icu-check.c')) },
  ]);
  try {
    const theirs = /^([0-9a-f]{64})\s/.exec((await helper.exec(['sha256sum', lib.path], 'sha256sum in the helper')).stdout)?.[1];
    if (theirs !== sha256) {
      if (built) await runtime.removeImage(source.tag).catch(() => {});
      throw new HelperFailed(`the helper's ${lib.path} is another build: it differs by sha256 (${source.packages.slice(0, 2).join(' ')})`);
    }
    const symbol = dataSymbol((await helper.exec(['nm', '-D', '-S', '--defined-only', lib.path], 'nm')).stdout, lib.major);
    if (!symbol) throw new HelperFailed(`${lib.path} has no symbol icudt${lib.major}_dat`);
    const offset = fileOffsetOf((await helper.exec(['readelf', '-SW', lib.path], 'readelf -S')).stdout, symbol.address);
    if (offset === undefined) throw new HelperFailed(`no section of ${lib.path} holds icudt${lib.major}_dat`);
    const soname = sonameOf((await helper.exec(['readelf', '-d', lib.path], 'readelf -d')).stdout);
    if (!soname) throw new HelperFailed(`${lib.path} has no soname`);
    const dat = `${WORK_DIR}/${pkg}.dat`;
    await helper.exec(['dd', `if=${lib.path}`, `of=${dat}`, 'bs=1M', 'iflag=skip_bytes,count_bytes', `skip=${offset}`, `count=${symbol.size}`, 'status=none'], 'cutting the data out');
    const all = new Set(parseItemList((await helper.exec(['icupkg', '-l', dat], 'icupkg -l')).stdout));
    if (all.size === 0) throw new HelperFailed(`icupkg found no items in ${lib.path}`);
    await helper.exec(['mkdir', '-p', `${WORK_DIR}/items/${pkg}`], 'making the items directory');
    await helper.exec(['icupkg', '-d', `${WORK_DIR}/items/${pkg}`, '-x', '*', dat], 'icupkg -x');
    await helper.exec(['gcc', '-O2', '-o', `${WORK_DIR}/chk/slim-icu-check`, `${WORK_DIR}/slim-icu-check.c`, '-licui18n', '-licuuc', '-licudata'], 'compiling the ICU checker');
    return workbench(helper, all, pkg, lib, soname);
  } catch (err) {
    await helper.close();
    throw err;
  }
}

function workbench(helper: HelperContainer, all: Set<string>, pkg: string, lib: IcuData, soname: string): IcuWorkbench {
  return {
    all,
    itemsDir: `${ICU_MOUNT}/items/${pkg}`,
    keptDir: `${ICU_MOUNT}/kept/${pkg}`,
    mount: { source: helper.volume, target: ICU_MOUNT, readOnly: true },
    async rebuild(items, hostFile) {
      const out = `${WORK_DIR}/out`;
      const list = `${WORK_DIR}/kept.lst`;
      // Names as arguments, never as shell text: an item name is the image's data.
      await helper.exec(['sh', '-c', 'printf "%s\\n" "$@" > "$0"', list, ...items], 'writing the item list');
      await helper.exec(['sh', '-c', 'dst=$1; shift; mkdir -p "$dst" && cd "$0" && cp --parents "$@" "$dst"', `${WORK_DIR}/items/${pkg}`, `${WORK_DIR}/kept/${pkg}`, ...items], 'copying the kept items');
      await helper.exec(['icupkg', '-tl', '-s', `${WORK_DIR}/items/${pkg}`, '-a', list, 'new', `${out}/${pkg}.dat`], 'icupkg -a');
      await helper.exec(['genccode', '-a', 'gcc', '-e', `icudt${lib.major}`, '-d', out, `${out}/${pkg}.dat`], 'genccode');
      await helper.exec(['gcc', '-c', '-o', `${out}/${pkg}_dat.o`, `${out}/${pkg}_dat.S`], 'assembling the data');
      await helper.exec(['gcc', '-shared', '-nostdlib', `-Wl,-soname,${soname}`, '-o', `${out}/lib.so`, `${out}/${pkg}_dat.o`], 'linking the library');
      return helper.copyFile(`${out}/lib.so`, hostFile);
    },
    close: () => helper.close(),
  };
}
