import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintDockerfile, lintFile, type Finding } from '../../src/lint/lint.js';
import { parseDockerfile } from '../../src/lint/dockerfile.js';
import { loadLintConfig } from '../../src/lint/config.js';
import { RULES } from '../../src/lint/rules.js';
import { tokenize } from '../../src/lint/shell.js';
import { SlimError } from '../../src/errors.js';

const DATA = join(import.meta.dirname, 'data', 'dockerfiles');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

/** `rule@line` pairs, the shape every assertion compares. */
const hits = (findings: Finding[]) => findings.map((f) => `${f.rule}@${f.line}`);
/** Lints with the .dockerignore check off, so a snippet is judged on its own lines. */
const lint = (text: string) => hits(lintDockerfile(text));
const only = (rule: string, text: string) => lint(text).filter((h) => h.startsWith(rule + '@'));

describe('parsing with dockerfile-ast', () => {
  it('keeps stages, lines, continuations, heredocs and exec form', () => {
    const df = parseDockerfile(readFileSync(join(DATA, 'clean', 'Dockerfile'), 'utf8'));
    expect(df.globalArgs.map((a) => a.line)).toEqual([3]);
    expect(df.stages.map((s) => [s.label, s.line, s.base.resolved?.split('@')[0]])).toEqual([
      ['build', 4, 'node:20.11.1-bookworm-slim'],
      ['final', 19, 'debian:bookworm-slim'],
    ]);
    const [build, final] = df.stages;
    const npmCi = build!.instructions.find((i) => i.line === 7)!;
    expect(npmCi.endLine).toBe(10);
    // The comment line inside the continuation is dropped, as the builder drops it.
    expect(npmCi.commandLine).toBe('npm ci --ignore-scripts');
    expect(npmCi.flags).toEqual([{ name: 'mount', value: 'type=cache,target=/root/.npm' }]);
    const script = build!.instructions.find((i) => i.line === 12)!;
    expect(script.heredocs).toEqual([{ name: 'EOF', line: 13, body: 'set -eu\nnpm run build\ncd dist && ls\nrm -rf /src/dist/*.map' }]);
    // Heredoc bodies are not instructions: the USER root inside COPY <<EOF is file content.
    expect(final!.instructions.map((i) => `${i.keyword}@${i.line}`)).toEqual([
      'RUN@20', 'RUN@25', 'COPY@26', 'COPY@27', 'RUN@32', 'WORKDIR@35', 'USER@36', 'ENTRYPOINT@37', 'CMD@38',
    ]);
    expect(final!.instructions[1]!.exec).toEqual(['useradd', '--system', '--uid', '10001', '--home-dir', '/app', 'app']);
  });

  it('reads exec form with spaces inside strings (dockerfile-ast drops them)', () => {
    const df = parseDockerfile('FROM a\nRUN ["sh", "-c", "apt-get install -y \\"foo\\" bar"]\nCMD ["a b", \\\n "c"]\nCMD ["broken", x]\n');
    const [run, cmd, broken] = df.stages[0]!.instructions;
    expect(run!.exec).toEqual(['sh', '-c', 'apt-get install -y "foo" bar']);
    expect(cmd!.exec).toEqual(['a b', 'c']);
    expect(broken!.exec).toBeNull();
  });

  it('substitutes ARG defaults in FROM and recognises earlier stages', () => {
    const df = parseDockerfile('ARG BASE=alpine:3.19\nARG OTHER\nFROM ${BASE} AS One\nFROM one\nFROM $OTHER\nFROM scratch\n');
    expect(df.stages.map((s) => [s.base.resolved, s.base.viaArg, s.base.stage, s.base.scratch])).toEqual([
      ['alpine:3.19', 'BASE', null, false],
      ['one', null, 0, false],
      [null, 'OTHER', null, false],
      ['scratch', null, null, true],
    ]);
  });

  it('splits shell commands with quotes, operators, redirections and sh -c', () => {
    expect(tokenize(`echo "a && b" && X=1 apt-get install -y foo 2>/dev/null; (cd /x || exit 1) | tee log # comment`)).toEqual([
      ['echo', 'a && b'], ['apt-get', 'install', '-y', 'foo'], ['cd', '/x'], ['exit', '1'], ['tee', 'log'],
    ]);
  });
});

describe('the test Dockerfiles', () => {
  it('bad/Dockerfile triggers every rule but SL010 at the expected lines', async () => {
    const findings = await lintFile(join(DATA, 'bad', 'Dockerfile'));
    expect(hits(findings)).toEqual([
      'SL011@0',
      'SL012@1',
      'SL007@2', 'SL002@5', 'SL020@7',
      'SL007@10', 'SL016@11', 'SL001@13',
      'SL008@15', 'SL012@16',
      'SL003@17', 'SL004@17', 'SL005@17', 'SL009@17', 'SL021@17',
      'SL015@18', 'SL003@19', 'SL023@19', 'SL013@20', 'SL014@21', 'SL017@22', 'SL018@22',
      'SL006@23', 'SL019@24',
    ]);
    expect(findings.find((f) => f.line === 16)).toMatchObject({ severity: 'error', stage: '2' });
    expect(findings.find((f) => f.line === 1)).toMatchObject({ severity: 'warning', stage: null });
    expect(findings.find((f) => f.rule === 'SL011')!.message).toBe('.dockerignore does not exclude .env');
    expect(findings.find((f) => f.rule === 'SL009')!.message).toContain('gcc, make');
    for (const f of findings) expect(f.fix.length).toBeGreaterThan(0);
  });

  it('the same Dockerfile with a context that has no .dockerignore gets SL010 instead of SL011', async () => {
    const findings = await lintFile(join(DATA, 'bad', 'Dockerfile'), join(DATA, 'dockerignore'));
    expect(hits(findings).filter((h) => h.endsWith('@0'))).toEqual(['SL010@0']);
  });

  it('clean/Dockerfile (multi-stage, heredocs, continuations, escape=`) has no findings but the unpinned apt packages (info)', async () => {
    expect(hits(await lintFile(join(DATA, 'clean', 'Dockerfile')))).toEqual(['SL021@20']);
  });

  it('every rule fires somewhere in the test data', async () => {
    // The rules added for hadolint users have a Dockerfile each in lint-rules/, with its .slim-lint.yaml.
    const ruleData = join(import.meta.dirname, 'data', 'lint-rules');
    const perRule = readdirSync(ruleData).filter((f) => f.endsWith('.Dockerfile')).map((f) => join(ruleData, f));
    const fired = new Set([
      ...(await lintFile(join(DATA, 'bad', 'Dockerfile'))).map((f) => f.rule),
      ...(await lintFile(join(DATA, 'bad', 'Dockerfile'), join(DATA, 'dockerignore'))).map((f) => f.rule),
      ...(await Promise.all(perRule.map(async (p) => lintFile(p, ruleData, { config: await loadLintConfig(undefined, p) })))).flat().map((f) => f.rule),
    ]);
    expect([...fired].sort()).toEqual(RULES.map((r) => r.id));
  });

  it('a missing Dockerfile is a usage error', async () => {
    const missing = lintFile(join(DATA, 'nope', 'Dockerfile'));
    await expect(missing).rejects.toBeInstanceOf(SlimError);
    await expect(missing).rejects.toMatchObject({ code: 'USAGE', exitCode: 2 });
  });
});

describe("the repository's fixtures", () => {
  // Each builds on debian:bookworm by tag (SL008), none has a .dockerignore (SL010); the ones without USER run as root (SL006);
  // apt-get install without versions is SL021.
  const expected: Record<string, string[]> = {
    'busybox-scratch': ['SL010@0', 'SL008@1', 'SL021@2', 'SL006@7'],
    'nginx-static': ['SL010@0', 'SL006@1', 'SL008@1', 'SL021@2'],
    'jvm-dates': ['SL010@0', 'SL008@1', 'SL021@2', 'SL008@8', 'SL021@9'],
    'node-http': ['SL010@0', 'SL008@1', 'SL021@2'],
    'node-intl': ['SL010@0', 'SL008@1', 'SL021@2'],
    'python-http': ['SL010@0', 'SL006@1', 'SL008@1', 'SL021@2'],
    'alternatives-job': ['SL010@0', 'SL008@1', 'SL021@2', 'SL006@6', 'SL008@6'],
    'lazy-app': ['SL010@0', 'SL006@1', 'SL008@1', 'SL021@2'],
    'listing-job': ['SL010@0', 'SL006@1', 'SL008@1'],
    'probe-view': ['SL010@0', 'SL008@1', 'SL021@2', 'SL008@6'],
    'python-imports': ['SL010@0', 'SL006@1', 'SL008@1', 'SL021@2'],
    'shell-job': ['SL010@0', 'SL006@1', 'SL008@1'],
    'static-bin': ['SL010@0', 'SL008@1', 'SL021@2', 'SL006@7', 'SL008@7', 'SL021@8'],
    'tz-job': ['SL010@0', 'SL006@1', 'SL008@1', 'SL021@2'],
    'wasteful': ['SL010@0', 'SL006@1', 'SL008@1', 'SL015@5'],
    'writer-service': ['SL010@0', 'SL008@1', 'SL021@2'],
  };
  it('covers every fixture', () => {
    const dirs = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory() && readdirSync(join(FIXTURES, d.name)).includes('Dockerfile'));
    expect(dirs.map((d) => d.name).sort()).toEqual(Object.keys(expected).sort());
  });
  for (const [name, want] of Object.entries(expected)) {
    it(name, async () => {
      expect(hits(await lintFile(join(FIXTURES, name, 'Dockerfile')))).toEqual(want);
    });
  }
});

describe('rules', () => {
  it('SL001/SL002: dependency install after COPY . .', () => {
    expect(lint('FROM node:20@sha256:a\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm cache clean --force\nUSER node\n')).toEqual(['SL001@4']);
    expect(lint('FROM node:20@sha256:a\nCOPY package*.json ./\nCOPY . .\nRUN npm install\nUSER node\n').filter((h) => !h.startsWith('SL003'))).toEqual(['SL002@3']);
    // Manifests first, install, then the source: the cached order.
    expect(lint('FROM node:20@sha256:a\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\nCOPY . .\nUSER node\n')).toEqual([]);
    // Installing a named package is not the manifest install.
    expect(only('SL001', 'FROM node:20@sha256:a\nCOPY . .\nRUN npm install -g serve && npm cache clean --force\n')).toEqual([]);
    expect(only('SL001', 'FROM golang:1.22@sha256:a\nCOPY . .\nRUN go mod download\n')).toEqual(['SL001@3']);
    expect(only('SL001', 'FROM golang:1.22@sha256:a\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n')).toEqual([]);
    // COPY --from of a stage is not the build context.
    expect(only('SL001', 'FROM a:1@sha256:a AS b\nFROM a:1@sha256:a\nCOPY --from=b . .\nRUN pip install --no-cache-dir -r requirements.txt\n')).toEqual([]);
  });

  it('SL003: package-manager caches left in the layer', () => {
    const cases: [string, string[]][] = [
      ['RUN apt-get update && apt-get install -y --no-install-recommends curl', ['SL003@2']],
      ['RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*', []],
      ['RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y --no-install-recommends curl', []],
      ['RUN apk add curl', ['SL003@2']],
      ['RUN apk add --no-cache curl', []],
      ['RUN pip install flask', ['SL003@2']],
      ['RUN python3 -m pip install --no-cache-dir flask', []],
      ['ENV PIP_NO_CACHE_DIR=1\nRUN pip install flask', []],
      ['RUN npm ci', ['SL003@2']],
      ['RUN npm ci && npm cache clean --force', []],
      ['RUN dnf install -y curl', ['SL003@2']],
      ['RUN dnf install -y curl && dnf clean all', []],
      ['RUN ["sh", "-c", "apk add curl"]', ['SL003@2']],
    ];
    for (const [run, want] of cases) expect(only('SL003', `FROM x:1@sha256:a\n${run}\n`), run).toEqual(want.map((w) => (run.startsWith('ENV') ? w.replace('@2', '@3') : w)));
    // Only the stages that ship matter.
    expect(only('SL003', 'FROM x:1@sha256:a AS build\nRUN apk add gcc\nFROM scratch\nCOPY --from=build /out /\n')).toEqual([]);
    // ...including the stages the final one builds on.
    expect(only('SL003', 'FROM x:1@sha256:a AS base\nRUN apk add curl\nFROM base\nUSER 1\n')).toEqual(['SL003@2']);
  });

  it('SL004/SL005: apt-get recommends and upgrade', () => {
    expect(only('SL004', 'FROM debian:12@sha256:a\nRUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n')).toEqual(['SL004@2']);
    expect(only('SL004', 'FROM debian:12@sha256:a\nRUN apt-get install -y --no-install-recommends curl\n')).toEqual([]);
    expect(only('SL004', 'FROM debian:12@sha256:a\nRUN apt-get -o APT::Install-Recommends=false install -y curl\n')).toEqual([]);
    expect(only('SL005', 'FROM debian:12@sha256:a\nRUN apt-get update && apt-get dist-upgrade -y\n')).toEqual(['SL005@2']);
    expect(only('SL005', 'FROM debian:12@sha256:a\nRUN apt-get update\n')).toEqual([]);
  });

  it('SL006: the final stage runs as root', () => {
    expect(only('SL006', 'FROM a:1@sha256:a\nRUN true\n')).toEqual(['SL006@1']);
    expect(only('SL006', 'FROM a:1@sha256:a\nUSER app\nUSER 0:0\n')).toEqual(['SL006@3']);
    expect(only('SL006', 'FROM a:1@sha256:a\nUSER root\nRUN true\nUSER 1000\n')).toEqual([]);
    // Only the final stage counts, and it inherits USER from the stage it builds on.
    expect(only('SL006', 'FROM a:1@sha256:a AS build\nUSER root\nFROM a:1@sha256:a AS base\nUSER app\nFROM base\n')).toEqual([]);
    expect(only('SL006', 'FROM a:1@sha256:a AS build\nUSER app\nFROM scratch\n')).toEqual(['SL006@3']);
    expect(only('SL006', 'FROM gcr.io/distroless/static-debian12:nonroot@sha256:a\n')).toEqual([]);
  });

  it('SL007/SL008: base image pinning', () => {
    expect(lint('FROM alpine\nUSER 1\n')).toEqual(['SL007@1']);
    expect(lint('FROM alpine:latest\nUSER 1\n')).toEqual(['SL007@1']);
    expect(lint('FROM localhost:5000/app\nUSER 1\n')).toEqual(['SL007@1']);
    expect(lint('FROM alpine:3.19\nUSER 1\n')).toEqual(['SL008@1']);
    expect(lint('FROM alpine:3.19@sha256:abc\nUSER 1\n')).toEqual([]);
    expect(lint('FROM alpine@sha256:abc\nUSER 1\n')).toEqual([]);
    expect(lint('FROM alpine:3.19@sha256:abc AS b\nFROM b\nFROM scratch\nUSER 1\n')).toEqual([]);
    expect(lint('ARG BASE=alpine\nFROM ${BASE}\nUSER 1\n')).toEqual(['SL007@2']);
    expect(lintDockerfile('ARG BASE=alpine\nFROM ${BASE}\nUSER 1\n')[0]!.message).toContain('ARG BASE');
    // No default: the --build-arg decides, nothing to judge.
    expect(lint('ARG BASE\nFROM ${BASE}\nUSER 1\n')).toEqual([]);
  });

  it('SL009: build tools in the stage that ships', () => {
    expect(only('SL009', 'FROM debian:12@sha256:a\nRUN apt-get install -y --no-install-recommends build-essential libssl-dev\n')).toEqual(['SL009@2']);
    expect(lintDockerfile('FROM debian:12@sha256:a\nRUN apt-get install -y gcc\n').find((f) => f.rule === 'SL009')!.message).toContain('the only stage');
    expect(only('SL009', 'FROM debian:12@sha256:a AS build\nRUN apt-get install -y gcc make\nFROM debian:12@sha256:a\nCOPY --from=build /out /out\n')).toEqual([]);
    expect(only('SL009', 'FROM alpine:3@sha256:a\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev && make && apk del .build-deps\n')).toEqual([]);
    expect(only('SL009', 'FROM debian:12@sha256:a\nRUN apt-get install -y gcc && make && apt-get purge -y gcc\n')).toEqual([]);
    expect(only('SL009', 'FROM debian:12@sha256:a\nRUN apt-get install -y curl libcap2-bin\n')).toEqual([]);
  });

  it('SL010/SL011: .dockerignore', () => {
    const variant = (name: string) => readFileSync(join(DATA, 'dockerignore', `${name}.dockerignore`), 'utf8');
    const ignoreHits = (dockerignore: string | null) => hits(lintDockerfile('FROM scratch\nUSER 1\n', { contextFiles: { dockerignore } }));
    expect(ignoreHits(null)).toEqual(['SL010@0']);
    expect(ignoreHits(variant('comments-only'))).toEqual(['SL011@0']);
    expect(lintDockerfile('FROM scratch\nUSER 1\n', { contextFiles: { dockerignore: variant('comments-only') } })[0]!.message).toBe(
      '.dockerignore does not exclude .git, node_modules, .env',
    );
    expect(ignoreHits(variant('reincludes-git'))).toEqual(['SL011@0']);
    expect(lintDockerfile('FROM scratch\nUSER 1\n', { contextFiles: { dockerignore: variant('reincludes-git') } })[0]!.message).toContain('exclude .git');
    expect(ignoreHits(variant('star-then-allow'))).toEqual([]);
    expect(ignoreHits(variant('globs'))).toEqual([]);
    expect(ignoreHits(readFileSync(join(DATA, 'clean', '.dockerignore'), 'utf8'))).toEqual([]);
    // Not looked at: no finding either way.
    expect(lint('FROM scratch\nUSER 1\n')).toEqual([]);
  });

  it('SL012: secrets in ARG and ENV', () => {
    const f = lintDockerfile('ARG GITHUB_TOKEN\nFROM scratch\nARG db_password=x\nENV AWS_SECRET_ACCESS_KEY=abc \\\n    PRIVATE_KEY=k NAME=app\nENV PASSWORD_FILE=/run/secrets/pw\nUSER 1\n');
    expect(f.map((x) => `${x.rule}@${x.line}:${x.severity}`)).toEqual(['SL012@1:warning', 'SL012@3:warning', 'SL012@4:error', 'SL012@5:error']);
    expect(only('SL012', 'FROM scratch\nENV PORT=80 APP_NAME=x\nARG VERSION\n')).toEqual([]);
  });

  it('SL013/SL014: ADD', () => {
    expect(only('SL013', 'FROM scratch\nADD https://example.com/app.bin /app\n')).toEqual(['SL013@2']);
    expect(only('SL013', 'FROM scratch\nADD --checksum=sha256:abc https://example.com/app.bin /app\n')).toEqual([]);
    expect(only('SL014', 'FROM scratch\nADD app.py /app/\n')).toEqual(['SL014@2']);
    expect(only('SL014', 'FROM scratch\nADD rootfs.tar.gz /\n')).toEqual([]);
    expect(only('SL014', 'FROM scratch\nADD --checksum=sha256:abc https://example.com/app.bin /app\n')).toEqual([]);
    expect(only('SL014', 'FROM scratch\nCOPY app.py /app/\n')).toEqual([]);
  });

  it('SL015: deleting in a later layer', () => {
    expect(only('SL015', 'FROM debian:12@sha256:a\nRUN apt-get update\nRUN rm -rf /var/lib/apt/lists/*\n')).toEqual(['SL015@3']);
    expect(only('SL015', 'FROM debian:12@sha256:a\nWORKDIR /app\nCOPY build/ ./build/\nRUN rm -rf build/tmp\n')).toEqual(['SL015@4']);
    expect(only('SL015', 'FROM debian:12@sha256:a\nRUN curl -fsSL -o /tmp/x.tgz https://e.x/x.tgz && tar -xzf /tmp/x.tgz -C /opt\nRUN rm /tmp/x.tgz\n')).toEqual(['SL015@3']);
    // Removing in the same RUN is the fix.
    expect(only('SL015', 'FROM debian:12@sha256:a\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\n')).toEqual([]);
    // A path nothing earlier added.
    expect(only('SL015', 'FROM debian:12@sha256:a\nCOPY app /app\nRUN rm -rf /var/log/dpkg.log\n')).toEqual([]);
    // A build stage's waste does not ship.
    expect(only('SL015', 'FROM debian:12@sha256:a AS b\nRUN apt-get update\nRUN rm -rf /var/lib/apt/lists/*\nFROM scratch\n')).toEqual([]);
  });

  it('SL016/SL017/SL018: WORKDIR, cd, sudo', () => {
    expect(only('SL016', 'FROM scratch\nWORKDIR app\n')).toEqual(['SL016@2']);
    expect(only('SL016', 'FROM scratch\nWORKDIR /app\nWORKDIR $HOME/x\n')).toEqual([]);
    expect(only('SL017', 'FROM scratch\nRUN cd /src && make\n')).toEqual(['SL017@2']);
    expect(only('SL017', 'FROM scratch\nRUN make -C /src\nRUN <<EOF\ncd /src\nmake\nEOF\n')).toEqual([]);
    expect(only('SL018', 'FROM scratch\nRUN sudo apt-get update\n')).toEqual(['SL018@2']);
    expect(only('SL018', 'FROM scratch\nRUN <<EOF\nsudo true\nEOF\n')).toEqual(['SL018@2']);
    expect(only('SL018', 'FROM scratch\nRUN echo "sudo is a word here"\n')).toEqual([]);
  });

  it('SL019/SL020: how the container starts', () => {
    expect(only('SL019', 'FROM scratch\nCMD node server.js\n')).toEqual(['SL019@2']);
    expect(only('SL019', 'FROM scratch\nENTRYPOINT ["node"]\nCMD ["server.js"]\n')).toEqual([]);
    expect(only('SL019', 'FROM scratch\nCMD exec node server.js\n')).toEqual([]);
    // A build stage's CMD never runs.
    expect(only('SL019', 'FROM a:1@sha256:a AS b\nCMD make\nFROM scratch\nCMD ["/app"]\n')).toEqual([]);
    expect(only('SL020', 'FROM scratch\nENTRYPOINT ["a"]\nCMD ["b"]\nENTRYPOINT ["c"]\n')).toEqual(['SL020@2']);
    expect(only('SL020', 'FROM scratch AS one\nCMD ["a"]\nFROM scratch\nCMD ["b"]\n')).toEqual([]);
  });

  it('--ignore drops rules', () => {
    expect(hits(lintDockerfile('FROM alpine\n', { ignore: ['SL006', 'SL007'] }))).toEqual([]);
  });
});
