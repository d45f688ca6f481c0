import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLintConfig } from '../../src/lint/config.js';
import { lintDockerfile, lintFile, type Finding } from '../../src/lint/lint.js';
import { isExposeSpec } from '../../src/lint/rules/instructions.js';
import { registryOf } from '../../src/lint/rules/base-image.js';

const DATA = join(import.meta.dirname, 'data', 'lint-rules');

/** Lints a file of lint-rules/ with the folder's .slim-lint.yaml, as `slim lint` would find it. */
async function lintData(name: string): Promise<Finding[]> {
  const path = join(DATA, name);
  return lintFile(path, DATA, { config: await loadLintConfig(undefined, path) });
}
const hits = (findings: Finding[]) => findings.map((f) => `${f.rule}@${f.line}`);
const only = (rule: string, text: string) => hits(lintDockerfile(text)).filter((h) => h.startsWith(rule + '@'));

describe('rules hadolint users expect', () => {
  it('SL021 (DL3008): apt-get install without versions, one finding per RUN naming the packages', async () => {
    const findings = await lintData('apt-unpinned.Dockerfile');
    expect(hits(findings)).toEqual(['SL021@3']);
    expect(findings[0]).toMatchObject({ severity: 'info', hadolint: 'DL3008', stage: '0' });
    expect(findings[0]!.message).toBe('apt-get install of git without a pinned version in stage 0');
    expect(only('SL021', 'FROM debian:12@sha256:a\nRUN apt install -y vim\n')).toEqual(['SL021@2']);
  });

  it('SL022 (DL3018): apk add without versions; = and ~ pin, a --virtual name is not a package', async () => {
    const findings = await lintData('apk-unpinned.Dockerfile');
    expect(hits(findings)).toEqual(['SL022@2']);
    expect(findings[0]).toMatchObject({ severity: 'info', hadolint: 'DL3018' });
    expect(findings[0]!.message).toContain('apk add of curl without');
  });

  it('SL023 (DL3013): pip install without ==; ranges are not pins, paths, wheels and -r/-c installs are left alone', async () => {
    const findings = await lintData('pip-unpinned.Dockerfile');
    expect(hits(findings)).toEqual(['SL023@3']);
    expect(findings[0]).toMatchObject({ severity: 'info', hadolint: 'DL3013' });
    expect(findings[0]!.message).toBe('pip install of requests>=2, gunicorn without a pinned version in stage 0');
    // Every stage counts: a build stage's versions end up in what it builds.
    expect(only('SL023', 'FROM python:3@sha256:a AS build\nRUN pip install --no-cache-dir cython\nFROM scratch\n')).toEqual(['SL023@2']);
    expect(only('SL023', 'FROM python:3@sha256:a\nRUN pip install --no-cache-dir "flask~=3.0" black===24.1.0\n')).toEqual([]);
  });

  it('SL024 (DL4000): MAINTAINER', async () => {
    const findings = await lintData('maintainer.Dockerfile');
    expect(hits(findings)).toEqual(['SL024@2']);
    expect(findings[0]).toMatchObject({ hadolint: 'DL4000', fix: expect.stringContaining('org.opencontainers.image.authors') });
  });

  it('SL025 (DL3011): EXPOSE of something that is not a port or range', async () => {
    const findings = await lintData('expose.Dockerfile');
    expect(findings.map((f) => `${f.rule}@${f.line}:${f.message.split(' ')[1]}`)).toEqual([
      'SL025@4:80:8080', 'SL025@5:70000', 'SL025@5:http', 'SL025@5:9000/quic', 'SL025@5:9010-9000',
    ]);
    expect(findings[0]).toMatchObject({ severity: 'error', hadolint: 'DL3011' });
    expect(['80', '0', '65535', '1-2/udp', '7/SCTP', '$PORT', '${P}/tcp'].every(isExposeSpec)).toBe(true);
    expect(['65536', '-1', '80/tcp/udp', '', 'a80'].some(isExposeSpec)).toBe(false);
  });

  it('SL026 (DL3026): a FROM outside trustedRegistries, from .slim-lint.yaml beside the Dockerfile', async () => {
    const findings = await lintData('registries.Dockerfile');
    expect(hits(findings)).toEqual(['SL026@5']);
    expect(findings[0]).toMatchObject({ severity: 'error', hadolint: 'DL3026', stage: 'untrusted' });
    expect(findings[0]!.message).toContain('quay.io');
    // No policy, no finding.
    expect(hits(await lintFile(join(DATA, 'registries.Dockerfile'), DATA))).toEqual([]);
    expect(['alpine', 'library/alpine:3', 'index.docker.io/x/y', 'localhost/app', 'localhost:5000/app', 'Ghcr.io/o/i'].map(registryOf)).toEqual([
      'docker.io', 'docker.io', 'docker.io', 'localhost', 'localhost:5000', 'ghcr.io',
    ]);
  });

  it('relative WORKDIR, cd, sudo and apt-get dist-upgrade were slim rules already: they carry DL3000, DL3003, DL3004, DL3005', async () => {
    const findings = await lintData('hadolint-matched.Dockerfile');
    expect(findings.map((f) => `${f.rule}(${f.hadolint})@${f.line}`)).toEqual([
      'SL016(DL3000)@2', 'SL017(DL3003)@3', 'SL018(DL3004)@3', 'SL005(DL3005)@4',
    ]);
  });
});

describe('SL015 and each RUN cleaning its own apt lists', () => {
  it('two RUNs that each update, install and remove the lists are not SL015', async () => {
    const text = 'FROM debian:12@sha256:a\n' + 'RUN apt-get update && apt-get install -y --no-install-recommends curl=1 && rm -rf /var/lib/apt/lists/*\n'.repeat(2);
    expect(only('SL015', text)).toEqual([]);
    expect(only('SL003', text)).toEqual([]);
    expect(hits(await lintData('apt-unpinned.Dockerfile')).filter((h) => h.startsWith('SL015'))).toEqual([]);
  });

  it('a RUN that removes lists an earlier RUN left is still SL015, and so is one removing an earlier COPY', () => {
    expect(only('SL015', 'FROM debian:12@sha256:a\nRUN apt-get update\nRUN apt-get install -y x && rm -rf /var/lib/apt/lists/*\n')).toEqual(['SL015@3']);
    expect(only('SL015', 'FROM debian:12@sha256:a\nRUN apt-get update && rm -rf /var/lib/apt/lists/*\nCOPY lists/ /var/lib/apt/lists/\nRUN rm -rf /var/lib/apt/lists/*\n')).toEqual(['SL015@4']);
  });
});

describe('hadolint ids on findings', () => {
  it('a rule with several hadolint matches names the one each hit is', () => {
    const f = lintDockerfile('FROM alpine\nFROM nginx:latest\nRUN apk add curl=1\nRUN yum install -y x-1\nRUN npm ci\nCMD ["a"]\nCMD ["b"]\nENTRYPOINT ["c"]\nENTRYPOINT ["d"]\nUSER root\n');
    expect(f.filter((x) => ['SL003', 'SL006', 'SL007', 'SL020'].includes(x.rule)).map((x) => `${x.rule}(${x.hadolint})@${x.line}`)).toEqual([
      'SL007(DL3006)@1', 'SL007(DL3007)@2', 'SL003(DL3019)@3', 'SL003(DL3032)@4', 'SL003(null)@5', 'SL020(DL4003)@6', 'SL020(DL4004)@8', 'SL006(DL3002)@10',
    ]);
    // No USER at all is slim's finding; hadolint's DL3002 is about an explicit USER root.
    expect(lintDockerfile('FROM scratch\n').find((x) => x.rule === 'SL006')!.hadolint).toBeNull();
  });
});
