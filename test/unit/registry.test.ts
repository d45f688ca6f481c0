import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageName } from '../../src/image/reference.js';
import { parseRegistryRef, isLoopbackHost, apiHost } from '../../src/registry/registry-ref.js';
import { parseChallenge, tokenUrl } from '../../src/registry/challenge.js';
import { findCredentials } from '../../src/registry/credentials.js';
import { artifactLayers, artifactManifest, referrersOf, referrersTag, safeFileName, withReferrer } from '../../src/registry/artifact.js';
import { parseOutputRef } from '../../src/sinks/output.js';
import { addReferrer } from '../../src/registry/referrers-tag.js';
import { sha256 } from '../../src/image/digest.js';

const D = `sha256:${'ab'.repeat(32)}` as const;

describe('image and registry references', () => {
  it('a colon in the last part is a tag, in the first part before a slash a port', () => {
    expect(parseImageName('app:1')).toEqual({ repository: 'app', tag: '1' });
    expect(parseImageName('localhost:5000/team/app:1.4')).toEqual({ repository: 'localhost:5000/team/app', tag: '1.4' });
    expect(parseImageName(`app@${D}`)).toEqual({ repository: 'app', digest: D });
    expect(() => parseImageName('App:1')).toThrow(/invalid image reference/);
  });

  it('splits host and repository as Docker does', () => {
    expect(parseRegistryRef('127.0.0.1:5000/team/app:1-slim')).toEqual({ host: '127.0.0.1:5000', repository: 'team/app', tag: '1-slim' });
    expect(parseRegistryRef('registry.example.com/app')).toEqual({ host: 'registry.example.com', repository: 'app' });
    expect(parseRegistryRef('localhost/app:x')).toEqual({ host: 'localhost', repository: 'app', tag: 'x' });
    expect(parseRegistryRef('team/app:1')).toEqual({ host: 'docker.io', repository: 'team/app', tag: '1' });
    expect(parseRegistryRef('nginx')).toEqual({ host: 'docker.io', repository: 'library/nginx' });
    expect(parseRegistryRef(`r.io/app@${D}`)).toEqual({ host: 'r.io', repository: 'app', digest: D });
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(() => parseRegistryRef('r.io/App')).toThrow(/invalid registry reference "r.io\/App"/);
    expect(parseOutputRef('registry:r.io:443/a/b:c')).toEqual({ kind: 'registry', ref: { host: 'r.io:443', repository: 'a/b', tag: 'c' } });
  });

  it('loopback hosts speak plain HTTP; others do not', () => {
    expect(['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['registry.example.com', '10.0.0.1:5000', 'localhost.example.com'].map(isLoopbackHost)).toEqual([false, false, false]);
  });
});

describe('auth challenges', () => {
  it('parses bearer and basic challenges, quoted values with commas', () => {
    expect(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Basic')).toEqual({ scheme: 'basic', params: {} });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('the token URL carries service and every scope', () => {
    const url = tokenUrl({ scheme: 'bearer', params: { realm: 'https://a/token?x=1', service: 'reg' } }, ['repository:a:pull,push', 'repository:b:pull']);
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.get('service')).toBe('reg');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });
});

describe('credentials', () => {
  it('env first, then config.json auths (base64 or fields), then a credential helper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slim-creds-'));
    try {
      const env = { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH}` };
      expect(await findCredentials('r.io', env)).toBeUndefined();
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'https://r.io': { auth: Buffer.from('u:p:with:colons').toString('base64') }, 'https://index.docker.io/v1/': { username: 'hub', password: 'x' } }, credHelpers: { 'h.io': 'slimtest' } }));
      expect(await findCredentials('r.io', env)).toMatchObject({ username: 'u', password: 'p:with:colons' });
      expect(await findCredentials('docker.io', env)).toMatchObject({ username: 'hub', password: 'x' });
      expect(await findCredentials('r.io', { ...env, SLIM_REGISTRY_USER: 'ci', SLIM_REGISTRY_PASSWORD: 'tok' })).toEqual({ username: 'ci', password: 'tok', source: 'SLIM_REGISTRY_USER/SLIM_REGISTRY_PASSWORD' });
      // A credential helper speaks docker's protocol: the server on stdin, JSON on stdout.
      writeFileSync(join(dir, 'docker-credential-slimtest'), '#!/bin/sh\nread host\n[ "$1" = get ] && [ "$host" = h.io ] && echo \'{"Username":"helper","Secret":"s"}\'\n');
      chmodSync(join(dir, 'docker-credential-slimtest'), 0o755);
      expect(await findCredentials('h.io', env)).toEqual({ username: 'helper', password: 's', source: 'docker-credential-slimtest' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('artifacts and the referrers tag schema', () => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 500 };
  const files = [{ title: 'report.json', mediaType: 'application/vnd.slim.report.v1+json', data: Buffer.from('{}') }];

  it('an artifact manifest is ORAS-shaped: empty config, titled layers, subject', () => {
    const a = artifactManifest('application/vnd.slim.evidence.v1', files, subject, { k: 'v' });
    const j = JSON.parse(a.raw.toString());
    expect(j).toMatchObject({ schemaVersion: 2, artifactType: 'application/vnd.slim.evidence.v1', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }, subject });
    expect(j.layers).toEqual([{ mediaType: 'application/vnd.slim.report.v1+json', digest: sha256('{}'), size: 2, annotations: { 'org.opencontainers.image.title': 'report.json' } }]);
    expect(a.digest).toBe(sha256(a.raw));
    expect(artifactLayers(a.raw)).toEqual({ artifactType: 'application/vnd.slim.evidence.v1', layers: [{ title: 'report.json', mediaType: 'application/vnd.slim.report.v1+json', digest: sha256('{}'), size: 2 }], annotations: { k: 'v' } });
  });

  it('the referrers index keeps others, lists an artifact once', () => {
    expect(referrersTag(D)).toBe(`sha256-${'ab'.repeat(32)}`);
    const a = artifactManifest('t/a', files, subject, {});
    const b = artifactManifest('t/b', files, subject, {});
    const once = withReferrer(undefined, a);
    const both = withReferrer(withReferrer(once, b), a);
    expect(referrersOf(both).map((d) => [d.artifactType, d.digest])).toEqual([['t/b', b.digest], ['t/a', a.digest]]);
    expect(() => referrersOf(Buffer.from('{}'))).toThrow(/no manifests list/);
  });

  it('a referrer another job overwrote is merged in again; one that keeps losing is an error', async () => {
    const mine = artifactManifest('t/mine', files, subject, {});
    const theirs = artifactManifest('t/theirs', files, subject, {});
    // The other job read the index before this one wrote, and writes its own after: the first write is lost.
    let stored: Buffer | undefined;
    let raced = false;
    const store = {
      get: async () => stored,
      put: async (raw: Buffer) => {
        stored = raw;
        if (!raced) {
          raced = true;
          stored = withReferrer(undefined, theirs);
        }
      },
    };
    const noPause = async () => {};
    expect(await addReferrer(store, mine, { settle: noPause })).toBe(2);
    expect(referrersOf(stored!).map((d) => d.artifactType)).toEqual(['t/theirs', 't/mine']);
    // Already listed: nothing is written.
    expect(await addReferrer(store, mine, { settle: noPause })).toBe(0);
    // A writer that always wins: a clear error after the rounds, not a silent success.
    const hostile = { get: async () => withReferrer(undefined, theirs), put: async () => {} };
    await expect(addReferrer(hostile, mine, { settle: noPause, rounds: 3 })).rejects.toThrow(/kept losing artifact sha256:[0-9a-f]{64} to concurrent writers \(3 writes\)/);
  });

  it('a fetched file is named by its title, never outside the directory', () => {
    expect(safeFileName('report.json', D)).toBe('report.json');
    expect(safeFileName('../../etc/passwd', D)).toBe('passwd');
    expect(safeFileName('..', D)).toBe(`sha256-${'ab'.repeat(32)}`);
    expect(safeFileName('a\\..\\b', D)).toBe('b');
    expect(safeFileName(undefined, D)).toBe(`sha256-${'ab'.repeat(32)}`);
  });
});
