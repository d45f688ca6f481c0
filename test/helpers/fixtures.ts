import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker } from './engine.js';
import { hashDir } from '../../src/util/dir-hash.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Fixture images are tagged by a hash of their folder: built once, rebuilt only when the folder changes. */
export function fixtureTag(name: string): string {
  return `slim-fixture/${name}:${hashDir(join(FIXTURES_DIR, name)).slice(0, 12)}`;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export function hasImage(ref: string): boolean {
  try {
    docker(['image', 'inspect', ref]);
    return true;
  } catch {
    return false;
  }
}

export function buildFixture(name: string): string {
  const tag = fixtureTag(name);
  if (hasImage(tag)) return tag;
  try {
    execFileSync('docker', ['build', '--network', 'host', '-q', '-t', tag, join(FIXTURES_DIR, name)], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 900_000,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`building fixture ${name} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  return tag;
}

/**
 * The fixture under a name of its own. The slim image records its source's name, so its digest is
 * then unique to the test: a test that checks its failed image was removed cannot be fooled by an
 * identical image another test tagged. The caller removes the name (removeImages).
 */
export function uniqueSource(name: string, id: string | number): string {
  const ref = `slim-test/${name}-source:${id}`;
  docker(['tag', fixtureTag(name), ref]);
  return ref;
}
