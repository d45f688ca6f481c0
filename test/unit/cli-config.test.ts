import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCommand } from '../../src/cli/commands/build.js';
import { overBudget, parseRatio, parseSize } from '../../src/pipeline/budget.js';
import type { CommandContext } from '../../src/cli/context.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'slim-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'slim.yaml'), text);
  return join(dir, 'slim.yaml');
}

/** Parse `slim build ARGS` with the real command definition; capture the flags its action hands on, or its error. */
async function parse(args: string[]): Promise<{ flags: Record<string, unknown>; error?: string }> {
  let flags: Record<string, unknown> = {};
  let error: string | undefined;
  const cmd = buildCommand(async (action, f) => {
    flags = f as Record<string, unknown>;
    const ctx = { log: { info() {}, step() {}, warn() {}, error() {}, debug() {} } } as unknown as CommandContext;
    // Run only up to option handling: the build itself would need an engine.
    await action(ctx).catch((err: Error) => {
      error = err.message;
    });
  });
  cmd.exitOverride();
  await cmd.parseAsync(args, { from: 'user' });
  return { flags, ...(error !== undefined ? { error } : {}) };
}

describe('the config file', () => {
  it('fills in options by their long names; flags on the command line win; lists are replaced, not merged', async () => {
    const file = configFile(`
image: app:1
tag: app:slim
smoke: curl -f http://127.0.0.1:8080/
http-probe: [GET /health, GET /ready]
smokeTimeout: 90
keep: [certs, tz]
keep-packages: true
repair: false
rebuild: [jvm, icu]
env: [A=1]
`);
    const { flags } = await parse(['--config', file, '--tag', 'app:cli', '--env', 'B=2', '--probe', 'strace', '--max-size', '1GB', 'x:1']);
    expect(flags).toMatchObject({ tag: 'app:cli', smoke: 'curl -f http://127.0.0.1:8080/', httpProbe: ['GET /health', 'GET /ready'], smokeTimeout: '90', keep: ['certs', 'tz'], keepPackages: true, repair: false, rebuild: ['jvm', 'icu'], env: ['B=2'], probe: 'strace' });
  });

  it.each([
    ['an unknown option', 'smokey: true', /slim\.yaml:1:1: unknown option "smokey" \(did you mean smoke\?\)$/],
    ['a list where text is wanted', 'tag: [a, b]', /tag must be text or a number/],
    ['text where a switch is wanted', 'keep-packages: yes please', /keep-packages must be true or false/],
    ['not a mapping', '- a\n- b', /must be a mapping of option names to values/],
    ['broken YAML', 'a: [', /slim\.yaml:1:5: Flow sequence in block collection must be sufficiently indented and end with a \]$/],
  ])('rejects %s with a clear message', async (_name, text, message) => {
    const { error } = await parse(['--config', configFile(text), 'x:1']);
    expect(error).toMatch(message);
  });

  it.each([
    ['a bad indentation', 'image: x:1\nenv:\n  A: 1\n B: 2\n', /slim\.yaml:4:1: All mapping items must start at the same column$/],
    ['a key given twice', 'tag: a:1\ntag: a:2\n', /slim\.yaml:2:1: Map keys must be unique$/],
    ['a misspelt key, dashed', 'image: x:1\nnetwrok: host\n', /slim\.yaml:2:1: unknown option "netwrok" \(did you mean network\?\)$/],
    ['a misspelt key, camel-cased', 'httpProbee: [GET /]\n', /slim\.yaml:1:1: unknown option "httpProbee" \(did you mean http-probe\?\)$/],
    ['a value of the wrong type', 'image: x:1\n\ntag:   [a, b]\n', /slim\.yaml:3:8: tag must be text or a number, not \["a","b"\]$/],
    ['a switch that is not one', 'harden: 1\n', /slim\.yaml:1:9: harden must be true or false$/],
    ['an image that is not text', 'image: [a]\n', /slim\.yaml:1:8: image must be a string$/],
    ['a size that is none', "smoke: 'true'\nmax-size: lots\n", /slim\.yaml:2:11: max-size must be a size like 50MB or 1\.5GiB, not "lots"$/],
    ['a port out of range', "smoke: 'true'\nhttp-port: 99999\n", /slim\.yaml:2:12: http-port must be a port number, not "99999"$/],
    ['the bad item of a list', "smoke: 'true'\npublish:\n  - 8080:8080\n  - abc\n", /slim\.yaml:4:5: invalid publish "abc"$/],
    ['a bad preset among good ones', 'keep: [certs, nope]\n', /slim\.yaml:1:15: keep nope: no such preset$/],
    ['a target slim cannot rebuild', "smoke: 'true'\nrebuild: [jvm, python]\n", /slim\.yaml:2:16: rebuild python: slim cannot rebuild that$/],
  ])('says where in the file: %s', async (_name, text, message) => {
    const { error } = await parse(['--config', configFile(text), 'x:1']);
    expect(error).toMatch(message);
  });

  it('a bad value given on the command line is said as the flag, even over the file', async () => {
    const { error } = await parse(['--config', configFile("smoke: 'true'\nhttp-port: 99999\n"), '--http-port', '0', 'x:1']);
    expect(error).toBe('--http-port must be a port number, not "0"');
  });

  it('a missing --config file is an error; the image may come from the file', async () => {
    expect((await parse(['--config', '/nonexistent/slim.yaml', 'x:1'])).error).toMatch(/cannot read the config file \/nonexistent\/slim\.yaml: ENOENT/);
    const { error } = await parse(['--config', configFile('tag: a:b\n')]);
    expect(error).toMatch(/slim build needs an IMAGE/);
  });
});

describe('size budgets', () => {
  it('parses sizes and ratios as people write them', () => {
    expect(parseSize('--max-size', '50MB')).toBe(50e6);
    expect(parseSize('--max-size', '1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('--max-size', '200m')).toBe(200e6);
    expect(parseSize('--max-size', '123456')).toBe(123456);
    expect(() => parseSize('--max-size', 'big')).toThrow(/--max-size must be a size like 50MB/);
    expect(parseRatio('--min-reduction', '5x')).toBe(5);
    expect(parseRatio('--min-reduction', '2.5')).toBe(2.5);
    expect(() => parseRatio('--min-reduction', '0.5')).toThrow(/at least 1/);
  });
  it('says which budget broke', () => {
    expect(overBudget({ maxSize: 10e6, minReduction: 5 }, 20e6, 4)).toEqual(['20.0 MB is over --max-size 10.0 MB', '4.0x smaller is under --min-reduction 5x']);
    expect(overBudget({ maxSize: 30e6 }, 20e6, 4)).toEqual([]);
    expect(overBudget({}, 20e9, 1)).toEqual([]);
  });
});

describe('progress output', () => {
  it('draws bars only on a terminal, and never in CI', async () => {
    const { progressEnabled, progressBar } = await import('../../src/progress.js');
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(progressEnabled(tty, {})).toBe(true);
    expect(progressEnabled(tty, { CI: 'true' })).toBe(false);
    expect(progressEnabled(tty, { TERM: 'dumb' })).toBe(false);
    expect(progressEnabled({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false);
    let written = '';
    const fake = { isTTY: true, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    const saved = process.env.CI;
    delete process.env.CI;
    try {
      const bar = progressBar('packing', 100, fake);
      bar.add(50);
      bar.done();
    } finally {
      if (saved !== undefined) process.env.CI = saved;
    }
    expect(written).toContain('packing [###############               ] 50%');
    expect(written.endsWith('\r\x1b[K')).toBe(true);
  });
});
