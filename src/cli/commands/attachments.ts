import { Command } from 'commander';
import { resolve } from 'node:path';
import type { GlobalFlags, CommandContext } from '../context.js';
import { ExitCode } from '../../errors.js';
import { RegistryClient } from '../../registry/client.js';
import { fetchAttachments, listAttachments, type AttachmentList } from '../../registry/attachments.js';
import { formatRegistryRef, parseRegistryRef } from '../../registry/registry-ref.js';
import { formatBytes } from '../../report/report.js';
import { collect } from './run-options.js';

interface AttachmentsFlags {
  json?: boolean;
  fetch?: string;
  type?: string;
  insecureRegistry: string[];
}

export function attachmentsCommand(run: (action: (ctx: CommandContext) => Promise<number>, flags: GlobalFlags) => Promise<void>): Command {
  return new Command('attachments')
    .description('list the artifacts attached to an image in a registry (report, trace, seccomp profile, SBOM), and fetch them')
    .argument('<ref>', 'the image, HOST/REPO:TAG or HOST/REPO@DIGEST (a leading registry: is allowed)')
    .option('--fetch <dir>', 'download the attached files into DIR (digests checked)')
    .option('--type <artifactType>', 'only artifacts of this type, e.g. application/vnd.slim.evidence.v1')
    .option('--json', 'print the list as JSON')
    .option('--insecure-registry <host>', 'speak plain HTTP to this registry host (loopback hosts always are) (repeatable)', collect, [])
    .action(async (refArg: string, flags: AttachmentsFlags & GlobalFlags) => {
      await run(async (ctx) => {
        const ref = parseRegistryRef(refArg.replace(/^registry:/, ''));
        const client = new RegistryClient(ref.host, { insecure: flags.insecureRegistry.includes(ref.host), signal: ctx.scope.signal, onRetry: (what, n, why) => ctx.log.warn(`${ref.host}: ${what} failed (${why}); retry ${n}`) });
        const list = await listAttachments(client, ref);
        if (flags.type) list.attachments = list.attachments.filter((a) => a.artifactType === flags.type);
        let fetched: string[] = [];
        if (flags.fetch) fetched = await fetchAttachments(client, ref.repository, list.attachments, resolve(flags.fetch));
        process.stdout.write(flags.json ? JSON.stringify({ ref: formatRegistryRef(ref), ...list, ...(flags.fetch ? { fetched } : {}) }, null, 2) + '\n' : renderList(formatRegistryRef(ref), list, fetched));
        return ExitCode.ok;
      }, flags);
    });
}

function renderList(ref: string, list: AttachmentList, fetched: string[]): string {
  const lines = [`${ref} (${list.subject}): ${list.attachments.length} attached artifact${list.attachments.length === 1 ? '' : 's'} (via ${list.via})`];
  for (const a of list.attachments) {
    const created = a.annotations['org.opencontainers.image.created'];
    lines.push(`  ${a.digest}  ${a.artifactType ?? '(no type)'}${created ? `  ${created}` : ''}`);
    for (const f of a.files) lines.push(`    ${(f.title ?? '(untitled)').padEnd(16)} ${formatBytes(f.size).padStart(9)}  ${f.mediaType}`);
  }
  for (const f of fetched) lines.push(`  fetched ${f}`);
  return lines.join('\n') + '\n';
}
