import { describe, expect, it } from 'vitest';
import { toBuildOptions, type BuildFlags } from '../../src/cli/options.js';

describe('run options are checked when the flags are parsed', () => {
  const flags = (f: Partial<BuildFlags>): BuildFlags => ({ smokeTimeout: '60', probe: 'auto', env: [], volume: [], addHost: [], publish: [], tmpfs: [], stopTimeout: '10', include: [], output: [], httpProbe: [], httpSpec: [], exec: [], compareOutput: [], verifyHttpProbe: [], verifyHttpSpec: [], verifyExec: [], repair: true, repairRounds: '3', ...f });
  it.each([
    [{ publish: ['nope'] }, /^invalid --publish "nope"$/],
    [{ publish: ['8080:99999'] }, /^invalid --publish "8080:99999": ports are 1 to 65535$/],
    [{ addHost: ['justahost'] }, /^--add-host must be HOST:IP, not "justahost"$/],
    [{ tmpfs: ['tmp'] }, /^--tmpfs takes an absolute path in the container, not "tmp"$/],
  ])('%j is a usage error', (f, message) => {
    expect(() => toBuildOptions('x', flags(f))).toThrow(message);
    try {
      toBuildOptions('x', flags(f));
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
  });
  it('good ones pass', () => {
    expect(toBuildOptions('x', flags({ publish: ['127.0.0.1:8080:80/tcp', '90'], addHost: ['db:127.0.0.1'], tmpfs: ['/tmp'] })).settings.publish).toEqual(['127.0.0.1:8080:80/tcp', '90']);
  });
});
