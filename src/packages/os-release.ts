import type { OsRelease } from './types.js';

export function parseOsRelease(text: string): OsRelease | undefined {
  const get = (k: string) => new RegExp(`^${k}=(?:"([^"]*)"|'([^']*)'|(.*))$`, 'm').exec(text)?.slice(1).find((v) => v !== undefined)?.trim();
  const id = get('ID');
  if (!id) return undefined;
  const versionId = get('VERSION_ID');
  return { id, ...(versionId ? { versionId } : {}) };
}
