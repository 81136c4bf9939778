import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

// Writes a file so that a power cut leaves either the old or the new content,
// never a torn one: write a temporary sibling, fsync it, rename it over the
// target, then fsync the folder so the rename itself is durable.
// `durable: false` keeps temp + rename (never a torn file) but skips both
// fsyncs, for simulated devices whose power never fails.
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, { durable = true } = {}): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(data);
    if (durable) await file.sync();
  } catch (err) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await file.close();
  await rename(tmp, path);
  if (!durable) return;
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
