import { describe, expect, it } from 'vitest';
import { smokeSyntaxError } from '../../src/verify/smoke-syntax.js';

describe('smoke commands are parsed by the host shell before anything runs', () => {
  it.each([
    ['if then', 'Syntax error: "then" unexpected'],
    ['echo "open', 'Syntax error: Unterminated quoted string'],
    ['curl -f http://x/ && ( true', 'Syntax error: end of file unexpected (expecting ")")'],
    ['| grep x', 'Syntax error: "|" unexpected'],
  ])('%j: says what sh says, without its prefix', (cmd, said) => {
    expect(smokeSyntaxError(cmd)).toBe(said);
  });

  it('a command that parses passes, and is not run: sh -n only reads it', () => {
    expect(smokeSyntaxError('curl -fsS http://127.0.0.1:8080/ | grep -q ok')).toBeUndefined();
    expect(smokeSyntaxError('exit 7')).toBeUndefined();
    expect(smokeSyntaxError('no-such-program-anywhere --flag')).toBeUndefined();
  });
});
