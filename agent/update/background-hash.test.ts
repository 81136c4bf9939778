import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackgroundHash } from './background-hash';
import { BACKGROUND_HASH_MIN_BYTES, createDownloadHash, InlineHash } from './download-hash';

const dir = mkdtempSync(join(tmpdir(), 'fleet-bghash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `data` cut into parts of 1 byte to 300 KiB, in groups of 1 to 20 parts. */
function groups(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let at = 0;
  while (at < data.length) {
    const group: Buffer[] = [];
    for (let k = 1 + Math.floor(Math.random() * 20); k > 0 && at < data.length; k--) {
      const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * 300 * 1024));
      group.push(data.subarray(at, at + n));
      at += n;
    }
    out.push(group);
  }
  return out;
}

describe('the background download hash', () => {
  it('equals sha256 of the bytes, through a ring far smaller than the data (wraps and waits for the worker)', async () => {
    const data = randomBytes(24 * 1024 * 1024 + 7);
    const hash = new BackgroundHash(64 * 1024 + 3);
    try {
      for (const group of groups(data)) await hash.update(group);
      expect(await hash.digest()).toBe(sha(data));
    } finally {
      await hash.close();
    }
  });

  it('continues a prefix read from the file (a resumed download)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const file = join(dir, 'part');
    writeFileSync(file, data);
    for (const hash of [new BackgroundHash(), new InlineHash()]) {
      const cut = 2 * 1024 * 1024 + 11;
      await hash.prefix(file, cut);
      await hash.update([data.subarray(cut, cut + 100), data.subarray(cut + 100)]);
      expect(await hash.digest()).toBe(sha(data));
      await hash.close();
    }
  });

  it('fails clearly when the file is shorter than the prefix, and after close', async () => {
    const file = join(dir, 'short');
    writeFileSync(file, Buffer.alloc(10));
    const hash = new BackgroundHash();
    await expect(hash.prefix(file, 100)).rejects.toThrow(/hashing thread failed: the file .* ends at byte 10, before 100/);
    await hash.close();
    const closed = new BackgroundHash();
    await closed.close();
    await expect(closed.update([Buffer.alloc(1)])).rejects.toThrow(/hashing thread/);
  });

  it('runs on a thread only for big downloads', () => {
    expect(createDownloadHash(BACKGROUND_HASH_MIN_BYTES - 1)).toBeInstanceOf(InlineHash);
    const big = createDownloadHash(BACKGROUND_HASH_MIN_BYTES);
    expect(big).toBeInstanceOf(BackgroundHash);
    return big.close();
  });
});
