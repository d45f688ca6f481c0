import { describe, expect, it } from 'vitest';
import { toBuildOptions, type BuildFlags } from '../../src/cli/options.js';

describe('run options are checked when the flags are parsed', () => {
  const flags = (f: Partial<BuildFlags>): BuildFlags => ({ smokeTimeout: '60', probe: 'auto', env: [], volume: [], addHost: [], publish: [], tmpfs: [], stopTimeout: '10', include: [], output: [], httpProbe: [], httpSpec: [], exec: [], compareOutput: [], verifyHttpProbe: [], verifyHttpSpec: [], verifyExec: [], repair: true, repairRounds: '3', ...f });
  it.each([
    [{ publish: ['nope'] }, /^invalid --publish "nope"$/],
    [{ publish: ['8080:99999'] }, /^invalid --publish "8080:99999": ports are 1 to 65535$/],
    [{ addHost: ['justahost'] }, /^--add-host must be HOST:IP, not "justahost"$/],
    [{ tmpfs: ['tmp'] }, /^--tmpfs takes an absolute path in the container, not "tmp"$/],
    [{ volume: ['data'] }, /^-v data: the path in the container must be absolute, not "data"$/],
    [{ volume: ['/srv:data'] }, /^-v \/srv:data: the path in the container must be absolute, not "data"$/],
    [{ volume: ['./data:/data'] }, /^-v \.\/data:\/data: "\.\/data" is neither an absolute host path nor a volume name$/],
    [{ volume: [':/data'] }, /^-v :\/data: must be DST, NAME:DST or \/HOST\/DIR:DST/],
    [{ volume: ['a:/b:ro:x'] }, /^-v a:\/b:ro:x: must be DST, NAME:DST or \/HOST\/DIR:DST/],
    [{ workdir: 'app' }, /^--workdir takes an absolute path in the container, not "app"$/],
    [{ user: '' }, /^--user must be USER or USER:GROUP \(names or ids\), not ""$/],
    [{ user: 'a:b:c' }, /^--user must be USER or USER:GROUP \(names or ids\), not "a:b:c"$/],
    [{ network: '' }, /^--network must name a network or mode/],
    [{ smoke: 'if then' }, /^--smoke "if then" is not a valid shell command: Syntax error: "then" unexpected$/],
    [{ smoke: 'true', verifySmoke: 'curl -f http://x/ && (true' }, /^--verify-smoke "curl -f http:\/\/x\/ && \(true" is not a valid shell command: Syntax error: end of file unexpected \(expecting "\)"\)$/],
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
    const ok = toBuildOptions('x', flags({ volume: ['/anon', 'named_1.v:/v', '/srv/data:/data:ro,z'], workdir: '/app', user: '1000:1000', network: 'host', smoke: 'for i in 1 2; do curl -fsS "http://127.0.0.1:$PORT/" && exit 0; sleep 1; done; exit 1' }));
    expect(ok.settings).toMatchObject({ volumes: ['/anon', 'named_1.v:/v', '/srv/data:/data:ro,z'], workdir: '/app', user: '1000:1000', network: 'host' });
  });
});
