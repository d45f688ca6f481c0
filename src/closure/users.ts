import { SlimError } from '../errors.js';

export interface Identity {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
  name?: string;
}

interface PasswdLine { name: string; uid: number; gid: number; home: string }
interface GroupLine { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdLine[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) return [];
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? [{ name: f[0]!, uid, gid, home: f[5]! }] : [];
  });
}

export function parseGroup(text: string): GroupLine[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) return [];
    const gid = Number(f[2]);
    return Number.isInteger(gid) ? [{ name: f[0]!, gid, members: f[3]!.split(',').filter(Boolean) }] : [];
  });
}

/**
 * Resolve a Docker USER spec (`name`, `uid`, `name:group`, `uid:gid`) the way the runtime does
 * from the image's own /etc/passwd and /etc/group: a name that is not there is an error, a
 * numeric uid without an entry runs with gid 0 and home `/`.
 */
export function resolveUser(spec: string | undefined, passwd: string | undefined, group: string | undefined): Identity {
  const users = parsePasswd(passwd ?? '');
  const groups = parseGroup(group ?? '');
  const [userPart = '', groupPart] = (spec ?? '').split(':');
  if (userPart === '' && groupPart === undefined) {
    const root = users.find((u) => u.uid === 0);
    return { uid: 0, gid: 0, groups: supplementary(groups, root?.name, 0), home: root?.home ?? '/root', name: root?.name ?? 'root' };
  }
  const numeric = /^\d+$/.test(userPart);
  const user = numeric ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart);
  if (!user && !numeric) {
    throw new SlimError(`unable to find user ${userPart}: no matching entries in the image's /etc/passwd`, { code: 'BAD_USER' });
  }
  const uid = numeric ? Number(userPart) : user!.uid;
  let gid = user?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new SlimError(`unable to find group ${groupPart}: no matching entries in the image's /etc/group`, { code: 'BAD_USER' });
      gid = g.gid;
    }
  }
  // An explicit group replaces the supplementary groups, as in Docker; runc always adds the primary group.
  const extra = groupPart ? [gid] : supplementary(groups, user?.name, gid);
  return { uid, gid, groups: extra, home: user?.home || '/', ...(user ? { name: user.name } : {}) };
}

/** The groups the user is a member of, and the primary group, which runc always includes (sorted, as the kernel keeps them). */
function supplementary(groups: GroupLine[], name: string | undefined, primary: number): number[] {
  const member = name ? groups.filter((g) => g.members.includes(name)).map((g) => g.gid) : [];
  return [...new Set([...member, primary])].sort((a, b) => a - b);
}
