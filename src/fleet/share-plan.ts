/**
 * Which files of a fleet's slim images go into shared layers. Pure: each image is its entries,
 * each entry a path and a key that says everything about it (kind, content digest, mode, owner,
 * mtime, xattrs, link target, the names of its hard links). An entry can only be shared by images
 * whose single-layer builds hold it with the same key, so no image gains or changes a file.
 * Directories stay in each image's own layer (the top one), so their metadata is always its own.
 */

export interface FleetEntry {
  path: string;
  key: string;
  bytes: number;
  dir: boolean;
}

export interface FleetImage {
  name: string;
  entries: FleetEntry[];
}

export type Strategy = 'one-base' | 'tree';

export interface SharePlanOptions {
  strategy: Strategy | 'auto';
  /** A shared layer must save at least this many bytes across the fleet (bytes × (images − 1)). */
  minSavings: number;
  /** At most this many shared layers under any one image. */
  maxShared: number;
}

export interface SharedLayer {
  /** Indices of the images that have this layer, ascending. */
  images: number[];
  paths: string[];
  bytes: number;
}

export interface SharePlan {
  strategy: Strategy;
  shared: SharedLayer[];
  /** Per image: the shared layers under it (indices into shared, widest first), and what stays its own. */
  images: { layers: number[]; own: string[]; ownBytes: number }[];
  /** Bytes a node pulls to hold every image (distinct layers, uncompressed file bytes). */
  nodeBytes: number;
  /** The same for the single-layer builds. */
  singleBytes: number;
  /** Why this strategy: both were measured. */
  why: string;
}

export function planSharing(images: FleetImage[], opts: SharePlanOptions): SharePlan {
  if (opts.strategy !== 'auto') return plan(images, opts.strategy, opts, '');
  const [base, tree] = [plan(images, 'one-base', opts, ''), plan(images, 'tree', opts, '')];
  const pick = tree.nodeBytes < base.nodeBytes ? tree : base;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const why = `auto: one base for all ${mb(base.nodeBytes)} in ${base.shared.length} shared layer(s), a tree of bases ${mb(tree.nodeBytes)} in ${tree.shared.length}, single layers ${mb(base.singleBytes)}; ${pick.strategy} pulls least`;
  return { ...pick, why };
}

function plan(images: FleetImage[], strategy: Strategy, opts: SharePlanOptions, why: string): SharePlan {
  // Who holds each entry exactly as keyed.
  const holders = new Map<string, { path: string; bytes: number; images: number[] }>();
  images.forEach((img, i) => {
    for (const e of img.entries) {
      if (e.dir) continue;
      const id = `${e.path}\0${e.key}`;
      const h = holders.get(id) ?? { path: e.path, bytes: e.bytes, images: [] };
      h.images.push(i);
      holders.set(id, h);
    }
  });
  const groups = new Map<string, { images: number[]; paths: string[]; bytes: number }>();
  for (const h of holders.values()) {
    if (h.images.length < 2) continue;
    const sig = h.images.join(',');
    const g = groups.get(sig) ?? { images: h.images, paths: [], bytes: 0 };
    g.paths.push(h.path);
    g.bytes += h.bytes;
    groups.set(sig, g);
  }
  const savings = (g: { images: number[]; bytes: number }) => g.bytes * (g.images.length - 1);
  const candidates = [...groups.values()]
    .filter((g) => strategy === 'tree' || g.images.length === images.length)
    .sort((a, b) => savings(b) - savings(a) || b.images.length - a.images.length || a.images.join(',').localeCompare(b.images.join(',')));
  const chosen: { images: number[]; paths: string[]; bytes: number }[] = [];
  const under = new Array<number>(images.length).fill(0);
  for (const g of candidates) {
    if (savings(g) < opts.minSavings || g.images.some((i) => under[i]! >= opts.maxShared)) continue;
    chosen.push({ images: g.images, paths: [...g.paths], bytes: g.bytes });
    for (const i of g.images) under[i]!++;
  }
  // An entry whose holders have no layer of their own goes into the widest chosen layer they all have.
  for (const g of groups.values()) {
    if (chosen.some((c) => c.images.join(',') === g.images.join(','))) continue;
    const into = chosen.filter((c) => c.images.length >= 2 && c.images.every((i) => g.images.includes(i))).sort((a, b) => b.images.length - a.images.length)[0];
    if (!into) continue;
    into.paths.push(...g.paths);
    into.bytes += g.bytes;
  }
  const shared = chosen.map((c) => ({ ...c, paths: [...c.paths].sort() })).sort((a, b) => b.images.length - a.images.length || b.bytes - a.bytes);
  const perImage = images.map((img, i) => {
    const layers = shared.flatMap((s, n) => (s.images.includes(i) ? [n] : []));
    const sharedPaths = new Set(layers.flatMap((n) => shared[n]!.paths));
    const own = img.entries.filter((e) => !sharedPaths.has(e.path));
    return { layers, own: own.map((e) => e.path), ownBytes: own.reduce((n, e) => n + (e.dir ? 0 : e.bytes), 0) };
  });
  const singleBytes = images.reduce((n, img) => n + img.entries.reduce((m, e) => m + (e.dir ? 0 : e.bytes), 0), 0);
  const nodeBytes = shared.reduce((n, s) => n + s.bytes, 0) + perImage.reduce((n, p) => n + p.ownBytes, 0);
  return { strategy, shared, images: perImage, nodeBytes, singleBytes, why: why || `${strategy}: ${shared.length} shared layer(s)` };
}
