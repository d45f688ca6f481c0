import { spawn } from 'node:child_process';
import * as zlib from 'node:zlib';
import { Duplex } from 'node:stream';
import { SlimError } from '../errors.js';

type ZstdFactory = () => Duplex;

/**
 * A zstd decompressing stream: Node's own where it has one (22.15 and later), else the `zstd`
 * program, fed and read through pipes so that gigabyte layers stream as gzip ones do.
 */
export function zstdDecompress(label: string): Duplex {
  const builtIn = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
  if (typeof builtIn === 'function') return builtIn();
  return zstdProgram(label);
}

function zstdProgram(label: string): Duplex {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 2000) stderr += b.toString();
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  const fail = (err: Error) => {
    if (!duplex.destroyed) duplex.destroy(err);
  };
  child.on('error', (err: NodeJS.ErrnoException) =>
    fail(
      err.code === 'ENOENT'
        ? new SlimError(`${label} is zstd-compressed and this Node has no zstd; the zstd program is needed`, { code: 'UNSUPPORTED_LAYER', hint: 'install it (apt-get install zstd), or run slim on Node 22.15 or later' })
        : err,
    ),
  );
  child.on('close', (code, signal) => {
    if (code !== 0 && !duplex.destroyed) fail(new Error(`zstd -d failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').pop() ?? ''}`));
  });
  // A reader that stops early (a bad entry, Ctrl-C) must not leave the program behind.
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}
