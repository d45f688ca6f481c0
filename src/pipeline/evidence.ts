import { readFile } from 'node:fs/promises';
import type { ClosureResult } from '../closure/closure.js';
import type { AccessRecord } from '../trace/record.js';
import { serialiseRecord } from '../trace/jsonl.js';
import type { BuildReport } from '../report/report.js';
import { SLIM_VERSION } from '../version.js';
import type { Evidence } from '../sinks/image-sink.js';
import { FileType, type ArtifactFile } from '../registry/artifact.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { readPackageDatabase, type PackageDatabase } from '../packages/database.js';
import type { BuiltImage } from '../pack/image-builder.js';
import type { OpenedImage } from './build-types.js';

/**
 * The SBOM of what remains: packages of the original with files kept, and how much of each.
 * `packages` is the original's package database when the caller has read it; else it is read here.
 */
export async function sbomOf(opened: OpenedImage, closure: ClosureResult, built: BuiltImage, name: string, packages?: PackageDatabase): Promise<{ bom: Record<string, unknown>; packages: number }> {
  const { index } = opened.img;
  const { packages: installed, files, os } = packages ?? (await readPackageDatabase(index, opened.spool));
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const bom = cycloneDx({
    index, kept: (p) => closure.selection.has(p), installed, files, ...(os ? { os } : {}),
    image: { name, digest: built.manifestDigest },
    tool: { name: 'slim', version: SLIM_VERSION },
    timestamp: new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString(),
  });
  return { bom, packages: (bom.components as unknown[]).length };
}

/** What is attached to a pushed image: this report, the trace it was built from, the seccomp profile. */
export async function evidenceOf(report: BuildReport, records: AccessRecord[], seccompProfile: string | undefined): Promise<Evidence> {
  const files: ArtifactFile[] = [
    { title: 'report.json', mediaType: FileType.report, data: Buffer.from(JSON.stringify(report, null, 2) + '\n') },
    { title: 'trace.jsonl', mediaType: FileType.trace, data: Buffer.from(records.map(serialiseRecord).join('\n') + '\n', 'latin1') },
  ];
  if (seccompProfile) files.push({ title: 'seccomp.json', mediaType: FileType.seccomp, data: await readFile(seccompProfile) });
  return { files, annotations: { 'org.opencontainers.image.created': new Date().toISOString(), 'io.slim.version': SLIM_VERSION, 'io.slim.status': report.status } };
}
