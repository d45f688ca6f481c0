import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCommand } from '../../src/cli/commands/build.js';
import { argvOf, parseImageFlags, readFleetFile } from '../../src/cli/fleet-file.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'slim-fleet-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cmd = () => buildCommand(async () => {});
const fleetFile = (text: string) => {
  const f = join(dir, `f${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return f;
};

describe('slim-fleet.yaml', () => {
  it('gives each image the fleet\'s options and its own, its own winning, as slim build arguments', () => {
    const f = fleetFile(['options:', '  network: host', '  repair: false', 'share:', '  strategy: tree', '  min-savings: 2MB', 'images:', '  - image: a:1', '    env: [A=1, B=2]', '  - image: b:1', '    network: none', '    http-port: 8080'].join('\n'));
    const r = readFleetFile(f, cmd);
    expect(r.share).toEqual({ strategy: 'tree', minSavings: 2_000_000, maxShared: 3 });
    expect(r.images).toEqual([
      { image: 'a:1', argv: ['--network', 'host', '--no-repair', '--env', 'A=1', '--env', 'B=2'] },
      { image: 'b:1', argv: ['--network', 'none', '--no-repair', '--http-port', '8080'] },
    ]);
    const flags = parseImageFlags<{ network: string; repair: boolean; httpPort: string }>(cmd(), r.images[1]!, 'f: images[1]');
    expect(flags).toMatchObject({ network: 'none', repair: false, httpPort: '8080' });
  });

  it('refuses what is not a fleet: unknown keys, one image, an unknown option, a bad value, a bad strategy', () => {
    const bad = (text: string) => () => readFleetFile(fleetFile(text), cmd);
    expect(bad('images: [{image: a}, {image: b}]\nextra: 1')).toThrow(/unknown key "extra"/);
    expect(bad('images: [{image: a}]')).toThrow(/at least two images/);
    expect(bad('images: [{image: a, netwrok: host}, {image: b}]')).toThrow(/images\[0\] \(a\): unknown option "netwrok"/);
    expect(bad('images: [{image: a, harden: yes}, {image: b}]')).toThrow(/harden must be true or false/);
    expect(bad('images: [{image: a}, {image: b}]\nshare: {strategy: every}')).toThrow(/strategy must be auto, one-base or tree/);
    expect(bad('images: [{image: a}, {tag: x}]')).toThrow(UsageError);
    expect(() => parseImageFlags(cmd(), { image: 'a', argv: ['--probe', 'ptrace'] }, 'f: images[0]')).toThrow(/f: images\[0\] \(a\): option '--probe <backend>' argument 'ptrace' is invalid/);
  });

  it('a boolean flag is given for true, its --no- form for false', () => {
    expect(argvOf({ harden: true, 'keep-packages': false, repair: true }, cmd(), 'x')).toEqual(['--harden']);
  });
});
