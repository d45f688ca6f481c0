import { afterEach, describe, expect, it } from 'vitest';
import { mkLayer, readLayers, type Spec } from '../helpers/layers.js';
import { computeClosure } from '../../src/closure/closure.js';
import { missingListedEntries } from '../../src/closure/repair.js';
import type { AccessRecord } from '../../src/trace/record.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

// Merged /usr, a dpkg database, alternatives, a zone link, soname links, conf.d links, and an app
// directory no package owns.
const tree: Spec[] = [
  { path: 'usr/' },
  { path: 'usr/bin/' },
  { path: 'usr/bin/mawk', body: 'awk', mode: 0o755 },
  { path: 'usr/bin/awk', type: 'symlink', linkname: '/etc/alternatives/awk' },
  { path: 'usr/bin/nawk', type: 'symlink', linkname: '/etc/alternatives/nawk' },
  { path: 'usr/bin/perl', body: 'perl', mode: 0o755 },
  { path: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { path: 'usr/lib/' },
  { path: 'usr/lib/libz.so.1.2.13', body: 'z' },
  { path: 'usr/lib/libz.so.1', type: 'symlink', linkname: 'libz.so.1.2.13' },
  { path: 'usr/lib/libz.so', type: 'symlink', linkname: 'libz.so.1' },
  { path: 'usr/lib/libgone.so', type: 'symlink', linkname: 'libgone.so.9' },
  { path: 'usr/lib/py/' },
  { path: 'usr/lib/py/json/' },
  { path: 'usr/lib/py/json/__init__.py', body: 'json' },
  { path: 'usr/lib/py/csv.py', body: 'csv' },
  { path: 'usr/share/' },
  { path: 'usr/share/zoneinfo/' },
  { path: 'usr/share/zoneinfo/Europe/' },
  { path: 'usr/share/zoneinfo/Europe/Paris', body: 'TZif-paris' },
  { path: 'usr/share/zoneinfo/Europe/Berlin', body: 'TZif-berlin' },
  { path: 'etc/' },
  { path: 'etc/alternatives/' },
  { path: 'etc/alternatives/awk', type: 'symlink', linkname: '/usr/bin/mawk' },
  { path: 'etc/alternatives/nawk', type: 'symlink', linkname: '/usr/bin/mawk' },
  { path: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/Europe/Paris' },
  { path: 'etc/svc/' },
  { path: 'etc/svc/mods-available/' },
  { path: 'etc/svc/mods-available/json.ini', body: 'json' },
  { path: 'etc/svc/mods-available/xml.ini', body: 'xml' },
  { path: 'etc/svc/conf.d/' },
  { path: 'etc/svc/conf.d/20-json.ini', type: 'symlink', linkname: '../mods-available/json.ini' },
  { path: 'etc/svc/conf.d/20-xml.ini', type: 'symlink', linkname: '../mods-available/xml.ini' },
  { path: 'srv', type: 'symlink', linkname: 'app/plugins' },
  { path: 'app/' },
  { path: 'app/plugins/' },
  { path: 'app/plugins/alpha.sh', body: 'a' },
  { path: 'app/plugins/beta.sh', body: 'b' },
  { path: 'app/plugins/nested/' },
  { path: 'app/plugins/nested/deep.sh', body: 'deep' },
  { path: 'var/' },
  { path: 'var/lib/' },
  { path: 'var/lib/dpkg/' },
  { path: 'var/lib/dpkg/info/' },
  { path: 'var/lib/dpkg/info/python.list', body: '/.\n/usr\n/usr/lib\n/usr/lib/py\n/usr/lib/py/json\n/usr/lib/py/json/__init__.py\n/usr/lib/py/csv.py\n' },
  { path: 'var/lib/dpkg/info/mawk.list', body: '/.\n/usr\n/usr/bin\n/usr/bin/mawk\n' },
];

const rec = (path: string, op: AccessRecord['op'] = 'open', via: AccessRecord['via'] = 'fanotify'): AccessRecord => ({ pid: 1, op, path, ok: true, via });

async function closure(records: AccessRecord[]) {
  const r = await readLayers([await mkLayer(tree)]);
  cleanups.push(r.cleanup);
  const res = await computeClosure(r.index, records, { ignore: [], include: [], commands: [], config: { Env: ['PATH=/usr/bin:/bin'] } }, r.spool);
  return { ...res, index: r.index, kept: res.selection.paths().sort(), why: (p: string) => res.selection.why(p).map((x) => x.why) };
}

describe('closure: links a trace of resolved paths never names', () => {
  it('keeps every link that lands on a kept file: alternatives chains, /etc/localtime, soname links, conf.d entries', async () => {
    // What fanotify reports: resolved paths only.
    const { kept, why } = await closure([
      rec('/usr/bin/mawk', 'exec'),
      rec('/usr/share/zoneinfo/Europe/Paris'),
      rec('/usr/lib/libz.so.1.2.13'),
      rec('/etc/svc/mods-available/json.ini'),
    ]);
    for (const link of ['/usr/bin/awk', '/etc/alternatives/awk', '/usr/bin/nawk', '/etc/alternatives/nawk', '/etc/localtime', '/usr/lib/libz.so.1', '/usr/lib/libz.so', '/etc/svc/conf.d/20-json.ini', '/bin']) {
      expect(kept, link).toContain(link);
    }
    expect(why('/etc/localtime')[0]).toBe('symlink-to-kept');
    expect(why('/etc/svc/conf.d')).toEqual(['parent']);
    // Links to what is not kept, dangling links, and the files behind them stay out.
    for (const out of ['/etc/svc/conf.d/20-xml.ini', '/etc/svc/mods-available/xml.ini', '/usr/lib/libgone.so', '/usr/share/zoneinfo/Europe/Berlin', '/usr/bin/perl']) {
      expect(kept, out).not.toContain(out);
    }
  });
});

describe('closure: listings as evidence', () => {
  it('keeps the entries of a listed directory no package owns, not what lies below them', async () => {
    const { kept, why } = await closure([rec('/app/plugins', 'list')]);
    expect(kept).toEqual(expect.arrayContaining(['/app/plugins/alpha.sh', '/app/plugins/beta.sh', '/app/plugins/nested']));
    expect(why('/app/plugins/alpha.sh')).toEqual(['listed']);
    expect(kept).not.toContain('/app/plugins/nested/deep.sh');
  });

  it('does not expand a package-owned directory a runtime lists', async () => {
    const { kept, why } = await closure([rec('/usr/lib/py', 'list'), rec('/usr/lib/py/json/__init__.py')]);
    expect(kept, JSON.stringify(why('/usr/lib/py/csv.py'))).not.toContain('/usr/lib/py/csv.py');
    expect(kept).toContain('/usr/lib/py/json/__init__.py');
  });

  it('follows a listed path through links (strace reports it as asked)', async () => {
    const { kept } = await closure([rec('/srv', 'list', 'strace')]);
    expect(kept).toContain('/app/plugins/beta.sh');
  });

  it('repair: the entries a failing run listed that the slim image lacks', async () => {
    const { index } = await closure([]);
    const kept = new Set(['/app', '/app/plugins', '/app/plugins/alpha.sh']);
    expect(missingListedEntries(index, [rec('/app/plugins', 'list'), rec('/proc/1', 'list')], kept, [])).toEqual(['/app/plugins/beta.sh', '/app/plugins/nested']);
    expect(missingListedEntries(index, [rec('/app/plugins', 'open')], kept, [])).toEqual([]);
  });
});
