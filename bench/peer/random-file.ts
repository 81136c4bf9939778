import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { sha256File } from '../../proto/file-sha256';

/** Writes `bytes` random bytes to `path` (8 MiB at a time: incompressible, like a firmware image); answers their sha256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const fd = openSync(path, 'w');
  try {
    const block = Buffer.allocUnsafe(8 << 20);
    for (let at = 0; at < bytes; at += block.length) writeSync(fd, randomFillSync(block).subarray(0, Math.min(block.length, bytes - at)));
  } finally {
    closeSync(fd);
  }
  return sha256File(path);
}
