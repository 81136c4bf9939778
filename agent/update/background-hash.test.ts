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

/** `data` cut into parts of 1 byte to 40 KiB, in groups of 1 to 20 parts. */
function groups(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let at = 0;
  while (at < data.length) {
    const group: Buffer[] = [];
    for (let k = 1 + Math.floor(Math.random() * 20); k > 0 && at < data.length; k--) {
      const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * 40 * 1024));
      group.push(data.subarray(at, at + n));
      at += n;
    }
    out.push(group);
  }
  return out;
}

describe('the background download hash', () => {
  it('equals sha256 of the bytes and hands back the same bytes, through a ring far smaller than the data (wraps and waits for the worker)', async () => {
    const data = randomBytes(24 * 1024 * 1024 + 7);
    const hash = new BackgroundHash(1024 * 1024 + 3);
    const back: Uint8Array[] = [];
    try {
      for (const group of groups(data)) {
        const views = await hash.update(group);
        // What the writer does: copies out (the ring is reused), then reports the bytes written.
        for (const view of views) back.push(Buffer.from(view));
        hash.written(views.reduce((n, v) => n + v.length, 0));
      }
      expect(await hash.digest()).toBe(sha(data));
      expect(Buffer.concat(back).equals(data)).toBe(true);
    } finally {
      await hash.close();
    }
  });

  it('reuses no part of the ring before it is written', async () => {
    const hash = new BackgroundHash(64 * 1024);
    try {
      const first = await hash.update([Buffer.alloc(40 * 1024, 1)]);
      let second = false;
      const next = hash.update([Buffer.alloc(40 * 1024, 2)]).then((views) => ((second = true), views));
      await new Promise((r) => setTimeout(r, 200));
      expect(second).toBe(false);
      expect(Buffer.concat(first).every((b) => b === 1)).toBe(true);
      hash.written(40 * 1024);
      expect(Buffer.concat(await next).every((b) => b === 2)).toBe(true);
      hash.written(40 * 1024);
      await expect(hash.update([Buffer.alloc(70 * 1024)])).rejects.toThrow(/one update of more than 65536 bytes/);
    } finally {
      await hash.close();
    }
  });

  it('stops waiting for room when the writing fails, with the writer\'s error', async () => {
    const hash = new BackgroundHash(64 * 1024);
    try {
      await hash.update([Buffer.alloc(60 * 1024)]);
      const waiting = hash.update([Buffer.alloc(10 * 1024)]);
      const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      setTimeout(() => hash.abort(full), 50);
      await expect(waiting).rejects.toBe(full);
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
