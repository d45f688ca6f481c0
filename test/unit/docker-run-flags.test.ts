import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCapAdd, parseEnvFile, parseMount, parseSecurityOpts } from '../../src/runtime/docker-run-flags.js';
import { plainRunSpec, probeCapabilities, tmpfsOf, type RunSettings } from '../../src/runtime/run-settings.js';
import { toBuildOptions, type BuildFlags } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';

const work = mkdtempSync(join(tmpdir(), 'slim-run-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};
const usage = (fn: () => unknown, message: RegExp) => {
  expect(fn).toThrow(UsageError);
  expect(fn).toThrow(message);
};

describe('--env-file, as the docker CLI reads it', () => {
  it('KEY=VALUE as written, comments and blank lines skipped, a bare KEY from slim\'s environment or left out', () => {
    const f = file('a.env', '\uFEFFA=1\n  B=two words  \n# comment\n\n   \nC="quoted"\nD=\nHOME_FROM_SLIM\nNOT_SET_ANYWHERE\nE=x=y\r\n');
    expect(parseEnvFile(f, { HOME_FROM_SLIM: '/h' })).toEqual(['A=1', 'B=two words  ', 'C="quoted"', 'D=', 'HOME_FROM_SLIM=/h', 'E=x=y']);
  });
  it('a name with blanks, a line with no name, a file that is not there: usage errors naming the line', () => {
    usage(() => parseEnvFile(file('b.env', 'OK=1\nBAD KEY=1\n')), /b\.env:2: variable 'BAD KEY' contains whitespace/);
    usage(() => parseEnvFile(file('c.env', '=1\n')), /c\.env:1: no variable name/);
    usage(() => parseEnvFile(join(work, 'none.env')), /cannot read --env-file .*none\.env: ENOENT/);
  });
});

describe('--cap-add', () => {
  it('names as docker normalises them, once; ALL', () => {
    expect(parseCapAdd(['net_admin', 'CAP_SYS_PTRACE', 'NET_ADMIN,sys_nice', 'all'])).toEqual(['NET_ADMIN', 'SYS_PTRACE', 'SYS_NICE', 'ALL']);
    usage(() => parseCapAdd(['NET_ADMN']), /--cap-add NET_ADMN: no such capability/);
  });
  it('the probe adds its own on top; the app loses only those the user did not ask for', () => {
    const s = { capAdd: ['NET_ADMIN', 'SYS_PTRACE'] } as RunSettings;
    expect(probeCapabilities(s, ['SYS_ADMIN', 'SYS_PTRACE'])).toEqual({ capAdd: ['NET_ADMIN', 'SYS_PTRACE', 'SYS_ADMIN'], dropFromApp: ['SYS_ADMIN'] });
    expect(probeCapabilities({ capAdd: ['ALL'] } as RunSettings, ['SYS_ADMIN'])).toEqual({ capAdd: ['ALL', 'SYS_ADMIN'], dropFromApp: [] });
    expect(probeCapabilities({} as RunSettings, ['SYS_PTRACE'])).toEqual({ capAdd: ['SYS_PTRACE'], dropFromApp: ['SYS_PTRACE'] });
  });
});

describe('--security-opt', () => {
  it('passes what the engine takes; a seccomp profile file goes as its JSON, as the docker CLI sends it', () => {
    const profile = file('p.json', '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n');
    expect(parseSecurityOpts(['no-new-privileges', 'no-new-privileges=true', 'apparmor=unconfined', 'label=disable', 'label:type:x', 'seccomp=unconfined', `seccomp=${profile}`])).toEqual([
      'no-new-privileges', 'no-new-privileges=true', 'apparmor=unconfined', 'label=disable', 'label:type:x', 'seccomp=unconfined', 'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
    ]);
  });
  it.each([
    ['bogus=1', /unknown option bogus/],
    ['apparmor', /needs KEY=VALUE/],
    ['no-new-privileges=maybe', /takes true or false/],
    ['systempaths=unconfined', /not supported by slim/],
    ['seccomp=/nonexistent/p.json', /cannot read --security-opt seccomp \/nonexistent\/p\.json: ENOENT/],
  ])('%s is a usage error', (opt, message) => usage(() => parseSecurityOpts([opt]), message));
  it('a profile that is not JSON is a usage error', () => usage(() => parseSecurityOpts([`seccomp=${file('bad.json', '{ nope')}`]), /not a JSON seccomp profile/));
});

describe('--mount, as the -v or tmpfs the engine gets', () => {
  it('bind, volume, anonymous volume and tmpfs', () => {
    expect(parseMount(`type=bind,source=${work},target=/in,readonly,bind-propagation=rslave`)).toEqual({ volume: `${work}:/in:ro,rslave` });
    expect(parseMount(`type=bind,src=${work},dst=/in,ro=false,consistency=cached`)).toEqual({ volume: `${work}:/in` });
    expect(parseMount('source=cache,target=/var/cache,volume-nocopy')).toEqual({ volume: 'cache:/var/cache:nocopy' });
    expect(parseMount('type=volume,destination=/data')).toEqual({ volume: '/data' });
    expect(parseMount('type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1770,readonly')).toEqual({ tmpfs: '/scratch', options: 'ro,mode=1770,size=1048576' });
    expect(parseMount('"type=tmpfs","target=/t"')).toEqual({ tmpfs: '/t', options: '' });
  });
  it.each([
    ['type=bind,target=/in', /a bind mount needs a source/],
    ['type=bind,source=/nonexistent/dir,target=/in', /bind source path does not exist: \/nonexistent\/dir/],
    ['type=volume,source=v', /target is required/],
    ['type=volume,source=v,target=rel', /the target must be an absolute path/],
    ['type=tmpfs,target=/t,source=x', /a tmpfs has no source/],
    ['type=tmpfs,target=/t,volume-nocopy', /cannot mix 'volume-\*' options with mount type 'tmpfs'/],
    ['type=volume,source=v,target=/t,volume-driver=local', /volume-driver is not supported by slim/],
    ['type=npipe,source=x,target=/t', /type npipe is not supported by slim/],
    ['type=volume,source=v,target=/t,color=red', /unexpected key 'color'/],
    ['type=volume,source=v,target=/t,readonly=perhaps', /invalid value for readonly: perhaps/],
    ['type=tmpfs,target=/t,tmpfs-size=lots', /invalid value for tmpfs-size: lots/],
    ['type=tmpfs,target=/t,tmpfs-mode=999', /invalid value for tmpfs-mode: 999/],
    ['type=volume,target=/t,stray', /invalid field 'stray' must be a key=value pair/],
  ])('%s is a usage error', (spec, message) => usage(() => parseMount(spec), message));
});

describe('the flags in the run settings every run takes', () => {
  const flags = (f: Partial<BuildFlags>): BuildFlags => ({ smokeTimeout: '60', probe: 'auto', env: [], volume: [], addHost: [], publish: [], tmpfs: [], stopTimeout: '10', include: [], output: [], httpProbe: [], httpSpec: [], exec: [], compareOutput: [], verifyHttpProbe: [], verifyHttpSpec: [], verifyExec: [], repair: true, repairRounds: '3', ...f });

  it('env files first and -e after them (the later wins); mounts after -v; tmpfs options kept by path', () => {
    const s = toBuildOptions('x', flags({
      envFile: [file('one.env', 'A=file\nB=file\n'), file('two.env', 'B=second\n')], env: ['A=cli'],
      volume: ['v:/v'], mount: ['type=volume,source=w,target=/w', 'type=tmpfs,target=/s,tmpfs-size=64k'], tmpfs: ['/tmp'],
      capAdd: ['net_admin'], securityOpt: ['no-new-privileges'],
    })).settings;
    expect(s.env).toEqual(['A=file', 'B=file', 'B=second', 'A=cli']);
    expect(s.volumes).toEqual(['v:/v', 'w:/w']);
    expect(s.tmpfs).toEqual(['/tmp', '/s']);
    expect(tmpfsOf(s)).toEqual({ tmpfs: { '/tmp': '', '/s': 'size=65536' } });
    expect(plainRunSpec('img', s, {})).toMatchObject({ capAdd: ['NET_ADMIN'], securityOpt: ['no-new-privileges'], tmpfs: { '/tmp': '', '/s': 'size=65536' }, binds: ['v:/v', 'w:/w'] });
  });

  it('two mounts at one path are a usage error, as the engine would refuse them', () => {
    usage(() => toBuildOptions('x', flags({ volume: ['v:/data'], mount: ['type=tmpfs,target=/data'] })), /two mounts at \/data/);
  });
});
