import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/lint/dockerfile.js';
import { readPragmas } from '../../src/lint/ignores.js';
import { lintDockerfile, type Finding } from '../../src/lint/lint.js';
import { HADOLINT_MAP, SLIM_FOR_HADOLINT } from '../../src/lint/hadolint.js';
import { RULES } from '../../src/lint/rules.js';
import { SlimError } from '../../src/errors.js';
import { checkRuleIds, closeMatches } from '../../src/lint/rule-ids.js';

const hits = (findings: Finding[]) => findings.map((f) => `${f.rule}@${f.line}`);
const lint = (text: string) => hits(lintDockerfile(text));

const APT = 'RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5\n';

describe('inline ignores', () => {
  it('# slim ignore= on the line before an instruction skips those rules there, and only there', () => {
    const text = `FROM debian:12@sha256:a\n# slim ignore=SL003\n${APT}${APT}USER 1\n`;
    expect(lint(text)).toEqual(['SL003@4']);
  });

  it('# hadolint ignore= is honoured through the hadolint id a finding matches', () => {
    // DL3009 is SL003's apt hit; the apk hit of the same rule is DL3019 and stays.
    const text = 'FROM alpine:3@sha256:a\n# hadolint ignore=DL3009\nRUN apt-get install -y --no-install-recommends x=1 && apk add y=1\nUSER 1\n';
    expect(lintDockerfile(text).map((f) => `${f.rule}(${f.hadolint})@${f.line}`)).toEqual(['SL003(DL3019)@3']);
    // An id slim has no rule for (ShellCheck's, or an unmatched hadolint one) is no error in a pragma.
    expect(lint('FROM scratch\n# hadolint ignore=DL3059,SC2086 # we accept these\nWORKDIR app\nUSER 1\n')).toEqual(['SL016@3']);
    expect(lint('FROM scratch\n# hadolint ignore=DL3000 # relative on purpose\nWORKDIR app\nUSER 1\n')).toEqual([]);
  });

  it('covers the instruction’s continuation lines and stacked pragma lines; a blank line breaks it', () => {
    const text = 'FROM scratch\n# slim ignore=SL012\n# hadolint ignore=DL3000\nENV A=1 \\\n    API_TOKEN=x\nWORKDIR app\nUSER 1\n';
    expect(lint(text)).toEqual(['SL016@6']);
    expect(lint('FROM scratch\n# slim ignore=SL016\n\nWORKDIR app\nUSER 1\n')).toEqual(['SL016@4']);
    // Ids are case-insensitive; spaces after commas are allowed.
    expect(lint('# slim ignore=sl007, SL006\nFROM alpine\nRUN true\n')).toEqual([]);
  });

  it('a pragma before FROM covers the FROM line (SL006 for no USER is reported there)', () => {
    expect(lint('# hadolint ignore=DL3006\nFROM alpine\nUSER 1\n')).toEqual([]);
    expect(lint('# slim ignore=SL006\nFROM alpine:3@sha256:a\n')).toEqual([]);
  });

  it('global ignores cover the whole file, build-context findings included', () => {
    const text = '# slim global ignore=SL010,SL008 # one base image, no context\nFROM alpine:3\nFROM debian:12\nUSER 1\n';
    expect(hits(lintDockerfile(text, { contextFiles: { dockerignore: null } }))).toEqual([]);
    expect(lint('# hadolint global ignore=DL3007\nFROM alpine:latest\nUSER 1\n')).toEqual([]);
  });

  it('pragma text inside an instruction (a heredoc body, a continuation) is not a pragma', () => {
    const df = 'FROM scratch\nCOPY <<EOF /etc/notes\n# slim global ignore=SL016\nEOF\nRUN true \\\n# slim ignore=SL016\n && true\nWORKDIR app\nUSER 1\n';
    expect(lint(df)).toEqual(['SL016@8']);
    const p = readPragmas(df, parseDockerfile(df));
    expect([...p.global]).toEqual([]);
    expect(p.local).toEqual([]);
  });
});

describe('the hadolint map', () => {
  it('maps only the rules that mean what hadolint’s do, each hadolint id to one slim rule', () => {
    expect(Object.fromEntries(HADOLINT_MAP)).toEqual({
      SL003: ['DL3009', 'DL3019', 'DL3042', 'DL3032', 'DL3040'],
      SL004: ['DL3015'],
      SL005: ['DL3005'],
      SL006: ['DL3002'],
      SL007: ['DL3006', 'DL3007'],
      SL014: ['DL3020'],
      SL016: ['DL3000'],
      SL017: ['DL3003'],
      SL018: ['DL3004'],
      SL019: ['DL3025'],
      SL020: ['DL4003', 'DL4004'],
      SL021: ['DL3008'],
      SL022: ['DL3018'],
      SL023: ['DL3013'],
      SL024: ['DL4000'],
      SL025: ['DL3011'],
      SL026: ['DL3026'],
    });
    expect([...SLIM_FOR_HADOLINT.values()].every((slim) => slim.length === 1)).toBe(true);
  });

  it('every rule has a kebab-case name and the rules are in id order', () => {
    expect(RULES.map((r) => r.id)).toEqual(RULES.map((_, i) => `SL${String(i + 1).padStart(3, '0')}`));
    for (const r of RULES) expect(r.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });
});

describe('rule ids given by the user', () => {
  it('accepts slim ids and matched hadolint ids in any case', () => {
    expect(checkRuleIds(['sl003', ' DL3009 '], '--ignore')).toEqual(['SL003', 'DL3009']);
  });

  it('an unknown id is a usage error naming it, with close matches', () => {
    const err = (() => {
      try {
        checkRuleIds(['SL03'], '--ignore');
      } catch (e) {
        return e as SlimError;
      }
      throw new Error('no error');
    })();
    expect(err).toMatchObject({ code: 'USAGE', exitCode: 2, message: '--ignore: unknown rule SL03' });
    expect(err.hint).toMatch(/^did you mean SL003/);
    // A swap of neighbours is one edit: SL100 is nearest SL010.
    expect(closeMatches('SL100', RULES.map((r) => r.id))).toEqual(['SL010']);
    expect(() => checkRuleIds(['DL3059'], '--ignore')).toThrow(/unknown rule DL3059/);
    expect(() => checkRuleIds(['XYZ'], 'x')).toThrow(SlimError);
  });
});
