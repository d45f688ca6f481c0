import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Runtime } from '../runtime/runtime.js';
import type { Logger } from '../log.js';
import { Scope } from '../runtime/scope.js';
import { openImage } from '../pipeline/read-step.js';
import { buildImage } from '../pack/image-builder.js';
import { packEveryNth } from './pack-sample.js';
import { writeOutput } from '../sinks/output.js';
import { publishToRegistries } from '../pipeline/publish.js';

const run = promisify(execFile);
const installed = (bin: string) => execFileSync('sh', ['-c', `command -v ${bin} || true`]).toString().trim() !== '';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Debian's docker-registry on a loopback port with its storage under `dir`; stopped when `scope` ends. */
async function startRegistry(dir: string, scope: Scope): Promise<string> {
  const port = await freeLoopbackPort();
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  scope.defer('bench registry', async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/v2/`).then(() => true, () => false)) return `127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

/**
 * Push one image made the way slim makes them (a quarter of `image`'s files, one gzip layer) to a
 * local registry, with slim's client and with `skopeo copy` from an OCI layout of the same image,
 * each into an empty registry, so every blob is uploaded.
 */
export async function pushVsSkopeo(runtime: Runtime, image: string, label: string, work: string, runs: number, log: Logger, say: (s: string) => void): Promise<void> {
  if (!installed('docker-registry') || !installed('skopeo')) {
    say('  not measured: docker-registry and skopeo are needed (scripts/setup.sh installs them)');
    return;
  }
  const scope = new Scope();
  try {
    const { plan, layer } = await packEveryNth(image, await openImage(image, { runtime, log, scope }), 4, scope.signal);
    const built = buildImage(plan, layer);
    const layout = join(work, 'push-layout');
    await writeOutput({ kind: 'oci', dir: layout, tag: 'bench' }, built, image);
    // A fresh registry for every push: skopeo remembers where it pushed a blob and would mount it.
    const timed = async (i: number, push: (host: string) => Promise<unknown>): Promise<number> => {
      const reg = new Scope();
      const dir = join(work, `registry-${i}`);
      try {
        const host = await startRegistry(dir, reg);
        const t = Date.now();
        await push(host);
        return (Date.now() - t) / 1000;
      } finally {
        await reg.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    };
    const slimTimes: number[] = [];
    const skopeoTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      skopeoTimes.push(await timed(i, (host) => run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${host}/bench/app:bench`])));
      slimTimes.push(await timed(i, (host) => publishToRegistries([{ host, repository: 'bench/app', tag: 'bench' }], built, undefined, { insecure: [], attach: false }, log, scope.signal)));
    }
    const mb = (built.layer.size / 1e6).toFixed(0);
    say(`  ${label}: a ${mb} MB layer to docker-registry on loopback: skopeo copy ${median(skopeoTimes).toFixed(2)} s, slim ${median(slimTimes).toFixed(2)} s, ratio ${(median(slimTimes) / median(skopeoTimes)).toFixed(2)}x (${(built.layer.size / 1e6 / median(slimTimes)).toFixed(0)} MB/s)`);
  } finally {
    await scope.dispose();
  }
}
