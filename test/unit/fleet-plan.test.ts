import { describe, expect, it } from 'vitest';
import { planSharing, type FleetImage } from '../../src/fleet/share-plan.js';

const file = (path: string, bytes: number, key = 'same') => ({ path, key: `${key}:${bytes}`, bytes, dir: false });
const dir = (path: string) => ({ path, key: 'd', bytes: 0, dir: true });
const opts = { minSavings: 100, maxShared: 3 };

/** Three Python services and a Node one: libc everywhere, Python in three, one file differing in content. */
const fleet: FleetImage[] = [
  { name: 'py-a', entries: [dir('/usr'), file('/lib/libc.so.6', 2000), file('/usr/bin/python3', 5000), file('/app/a.py', 50)] },
  { name: 'py-b', entries: [dir('/usr'), file('/lib/libc.so.6', 2000), file('/usr/bin/python3', 5000), file('/app/b.py', 60)] },
  { name: 'py-c', entries: [dir('/usr'), file('/lib/libc.so.6', 2000), file('/usr/bin/python3', 5000, 'patched')] },
  { name: 'node', entries: [dir('/usr'), file('/lib/libc.so.6', 2000), file('/usr/bin/node', 9000)] },
];

function filesOf(plan: ReturnType<typeof planSharing>, i: number): string[] {
  return [...plan.images[i]!.layers.flatMap((n) => plan.shared[n]!.paths), ...plan.images[i]!.own].sort();
}

describe('sharing files across a fleet', () => {
  it('shares only what images hold identically; every image keeps exactly its own files; directories stay its own', () => {
    const p = planSharing(fleet, { ...opts, strategy: 'tree' });
    fleet.forEach((img, i) => expect(filesOf(p, i)).toEqual(img.entries.map((e) => e.path).sort()));
    expect(p.shared).toEqual([
      { images: [0, 1, 2, 3], paths: ['/lib/libc.so.6'], bytes: 2000 },
      { images: [0, 1], paths: ['/usr/bin/python3'], bytes: 5000 },
    ]);
    // py-c's python3 differs in content: it stays its own.
    expect(p.images[2]).toEqual({ layers: [0], own: ['/usr', '/usr/bin/python3'], ownBytes: 5000 });
    expect(p.images.every((im) => im.own.includes('/usr'))).toBe(true);
    expect(p.singleBytes).toBe(4 * 2000 + 3 * 5000 + 50 + 60 + 9000);
    expect(p.nodeBytes).toBe(2000 + 5000 + 50 + 60 + 5000 + 9000);
  });

  it('one base holds only what every image has; auto takes the strategy that pulls least and says both figures', () => {
    const base = planSharing(fleet, { ...opts, strategy: 'one-base' });
    expect(base.shared.map((s) => s.images)).toEqual([[0, 1, 2, 3]]);
    const auto = planSharing(fleet, { ...opts, strategy: 'auto' });
    expect(auto.strategy).toBe('tree');
    expect(auto.why).toMatch(/^auto: one base for all 0\.0 MB in 1 shared layer\(s\), a tree of bases 0\.0 MB in 2, single layers 0\.0 MB; tree pulls least$/);
  });

  it('a group too small to be worth a layer, or one more layer than allowed, stays in each image', () => {
    expect(planSharing(fleet, { strategy: 'tree', minSavings: 6000, maxShared: 3 }).shared.map((s) => s.paths)).toEqual([['/lib/libc.so.6']]);
    expect(planSharing(fleet, { strategy: 'tree', minSavings: 1, maxShared: 1 }).shared.map((s) => s.images)).toEqual([[0, 1, 2, 3]]);
  });

  it('an entry that a chosen layer\'s images all hold goes into it, even when more images hold it', () => {
    const imgs: FleetImage[] = [
      { name: 'a', entries: [file('/big', 10_000), file('/small', 10)] },
      { name: 'b', entries: [file('/big', 10_000), file('/small', 10)] },
      { name: 'c', entries: [file('/big', 10_000, 'other'), file('/small', 10)] },
    ];
    const p = planSharing(imgs, { strategy: 'tree', minSavings: 100, maxShared: 1 });
    expect(p.shared).toEqual([{ images: [0, 1], paths: ['/big', '/small'], bytes: 10_010 }]);
    expect(p.images[2]!.own).toEqual(['/big', '/small']);
  });
});
