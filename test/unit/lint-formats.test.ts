import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { formatFindings, FORMATS } from '../../src/lint/format/index.js';
import { lintDockerfile, lintFile, type Finding } from '../../src/lint/lint.js';
import { RULES } from '../../src/lint/rules.js';

const DATA = join(import.meta.dirname, 'data');
const BAD = join(DATA, 'dockerfiles', 'bad', 'Dockerfile');
const schema = JSON.parse(readFileSync(join(DATA, 'sarif', 'sarif-schema-2.1.0.json'), 'utf8')) as object;

interface Sarif {
  version: string;
  runs: { tool: { driver: { name: string; rules: { id: string; name: string; shortDescription: { text: string }; defaultConfiguration: { level: string }; properties?: { hadolint: string[] } }[] } }; results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[] }[];
}

/** Findings of three Dockerfiles: the bad one (its .dockerignore misses .env), one without a context, one from stdin. */
async function sample(): Promise<{ findings: Finding[]; files: string[] }> {
  const bad = await lintFile('test/unit/data/dockerfiles/bad/Dockerfile');
  const noContext = await lintFile(BAD, join(DATA, 'dockerfiles', 'dockerignore'));
  const stdin = lintDockerfile('FROM alpine\nEXPOSE "80 <&> 443"\n', { file: '-' });
  return { findings: [...bad, ...noContext, ...stdin], files: ['test/unit/data/dockerfiles/bad/Dockerfile', BAD, '-'] };
}

describe('SARIF', () => {
  it('validates against the SARIF 2.1.0 schema, with every rule in the driver', async () => {
    const { findings, files } = await sample();
    const log = JSON.parse(formatFindings('sarif', findings, files)) as Sarif;
    // Both are CommonJS: their module object is the export, and its .default too.
    const ajv = new ajvDraft04.default({ allErrors: true, strict: false });
    ajvFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema does check: a driver without a name, a region at line 0 are refused.
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'a b' }, region: { startLine: 0 } } }] }] }] })).toBe(false);
    const driver = log.runs[0]!.tool.driver;
    expect(driver.name).toBe('slim');
    expect(driver.rules.map((r) => r.id)).toEqual(RULES.map((r) => r.id));
    expect(driver.rules.find((r) => r.id === 'SL003')).toMatchObject({ name: 'cache-not-cleaned', defaultConfiguration: { level: 'warning' }, properties: { hadolint: ['DL3009', 'DL3019', 'DL3042', 'DL3032', 'DL3040'] } });
    expect(driver.rules.find((r) => r.id === 'SL008')!.defaultConfiguration.level).toBe('note');
  });

  it('gives each result its rule, level, message with the hadolint id, and file and line', async () => {
    const { findings, files } = await sample();
    const results = (JSON.parse(formatFindings('sarif', findings, files)) as Sarif).runs[0]!.results;
    const apt = results.find((r) => r.ruleId === 'SL003' && r.message.text.startsWith('SL003 (DL3009): apt-get'))!;
    expect(apt).toMatchObject({ level: 'warning', ruleIndex: 2 });
    expect(apt.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'test/unit/data/dockerfiles/bad/Dockerfile' }, region: { startLine: 17 } });
    // The build context: the ignore file when there is one, else the Dockerfile, with no line either way.
    expect(results.find((r) => r.ruleId === 'SL011')!.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'test/unit/data/dockerfiles/bad/.dockerignore' } });
    expect(results.find((r) => r.ruleId === 'SL010')!.locations[0]!.physicalLocation.artifactLocation.uri).toMatch(/^file:\/\/\/.*\/bad\/Dockerfile$/);
    expect(results.filter((r) => r.locations[0]!.physicalLocation.artifactLocation.uri === '-').map((r) => r.ruleId)).toEqual(['SL006', 'SL007', 'SL025', 'SL025', 'SL025']);
  });
});

describe('checkstyle', () => {
  it('groups by file, lists clean files, escapes XML and names the rule with its hadolint id', async () => {
    const { findings, files } = await sample();
    const xml = formatFindings('checkstyle', [...findings], [...files, 'clean/Dockerfile']);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<checkstyle version="4.3">\n')).toBe(true);
    expect(xml).toContain('  <file name="clean/Dockerfile">\n  </file>\n');
    expect(xml).toContain('<error line="17" column="1" severity="warning" message="apt-get cache is left in the layer in stage 2 (fix: end the same RUN with `&amp;&amp; rm -rf /var/lib/apt/lists/*`');
    expect(xml).toContain('source="SL003 (DL3009)"/>');
    expect(xml).toContain('<file name="test/unit/data/dockerfiles/bad/.dockerignore">\n    <error severity="warning" message=".dockerignore does not exclude .env');
    expect(xml).toContain('message="EXPOSE &quot;80 is not a port');
    expect(xml).toContain('EXPOSE &lt;&amp;&gt; is not a port');
    expect(xml.match(/<file /g)).toHaveLength(5);
  });
});

describe('GitLab code quality', () => {
  it('has the fields GitLab reads, severities in its words, and fingerprints unique and stable when lines move', async () => {
    const { findings, files } = await sample();
    const report = JSON.parse(formatFindings('gitlab', findings, files)) as { description: string; check_name: string; fingerprint: string; severity: string; location: { path: string; lines: { begin: number } } }[];
    expect(report).toHaveLength(findings.length);
    expect(report.find((r) => r.check_name === 'SL003 (DL3009)')).toMatchObject({ severity: 'major', location: { path: 'test/unit/data/dockerfiles/bad/Dockerfile', lines: { begin: 17 } } });
    expect(report.find((r) => r.check_name === 'SL012' && r.severity === 'critical')).toBeDefined();
    expect(report.find((r) => r.check_name === 'SL011')!.location).toEqual({ path: 'test/unit/data/dockerfiles/bad/.dockerignore', lines: { begin: 1 } });
    expect(new Set(report.map((r) => r.fingerprint)).size).toBe(report.length);
    expect(formatFindings('gitlab', findings, files)).toBe(formatFindings('gitlab', findings, files));
    const text = readFileSync(BAD, 'utf8');
    const fingerprints = (t: string) => (JSON.parse(formatFindings('gitlab', lintDockerfile(t, { file: 'Dockerfile' }), ['Dockerfile'])) as { fingerprint: string }[]).map((r) => r.fingerprint).sort();
    // Two lines added at the top move every finding, SL015's "line 17" included, and change no fingerprint.
    expect(fingerprints(`# a comment\n# another\n${text.replace(/^ARG NPM_TOKEN\n/, 'ARG NPM_TOKEN\n')}`)).toEqual(fingerprints(text));
  });
});

describe('text and JSON', () => {
  it('text names the file and line, or the build context, and the hadolint id', async () => {
    const { findings, files } = await sample();
    const lines = formatFindings('text', findings, files).trimEnd().split('\n');
    expect(lines).toContain('test/unit/data/dockerfiles/bad/.dockerignore SL011 warning: .dockerignore does not exclude .env (fix: add .env to .dockerignore)');
    expect(lines.find((l) => l.includes(' SL010 '))).toMatch(new RegExp(`^${BAD.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(build context\\) SL010 warning: no \\.dockerignore in the build context .*dockerignore \\(fix: `));
    expect(lines).toContain('-:2 SL025 (DL3011) error: EXPOSE "80 is not a port or port range (stage 0) (fix: EXPOSE the container port, e.g. EXPOSE 8080 or EXPOSE 8000-8010/tcp; host ports are chosen at run time (-p))');
    expect(formatFindings('text', [], files)).toBe('');
  });

  it('JSON has the file of every finding and no line 0', async () => {
    const { findings, files } = await sample();
    const out = JSON.parse(formatFindings('json', findings, files)) as { file: string; line: number | null; rule: string; hadolint: string | null; dockerfile: string }[];
    expect(out.find((f) => f.rule === 'SL010')).toMatchObject({ file: '(build context)', line: null, dockerfile: BAD });
    expect(out.find((f) => f.rule === 'SL011')).toMatchObject({ file: 'test/unit/data/dockerfiles/bad/.dockerignore', line: null });
    expect(out.every((f) => f.line === null || f.line > 0)).toBe(true);
    expect(out.find((f) => f.rule === 'SL016')).toMatchObject({ hadolint: 'DL3000', line: 11 });
    expect(formatFindings('json', [], [])).toBe('[]\n');
  });

  it('every format accepts no findings', () => {
    for (const format of FORMATS) expect(() => formatFindings(format, [], ['Dockerfile'])).not.toThrow();
  });
});
