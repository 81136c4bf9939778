import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteBehind } from './write-behind';

describe('WriteBehind', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts background datasyncs while a big file is written, then syncs the rest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'write-behind-'));
    const file = await open(join(dir, 'f'), 'w');
    const flusher = new WriteBehind(file, 512 * 1024);
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 16; i++) {
      chunk.fill(i);
      await file.write(chunk, 0, chunk.length, i * chunk.length);
      flusher.wrote(chunk.length);
    }
    await flusher.sync();
    await file.close();
    expect(flusher.flushes).toBeGreaterThanOrEqual(1);
    expect(flusher.flushes).toBeLessThanOrEqual(8);
    const back = readFileSync(join(dir, 'f'));
    expect(back.length).toBe(16 * chunk.length);
    for (let i = 0; i < 16; i++) expect(back[i * chunk.length + 100]).toBe(i);
  });

  it('leaves a file under the threshold to the final sync', async () => {
    dir = mkdtempSync(join(tmpdir(), 'write-behind-'));
    const file = await open(join(dir, 'f'), 'w');
    const flusher = new WriteBehind(file, 1024 * 1024);
    await file.write(Buffer.alloc(1000));
    flusher.wrote(1000);
    await flusher.sync();
    await file.close();
    expect(flusher.flushes).toBe(0);
  });

  it('fails the final sync when a background flush failed (the file is not renamed into place)', async () => {
    let synced = false;
    const failing = {
      datasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
      sync: () => {
        synced = true;
        return Promise.resolve();
      },
    } as unknown as FileHandle;
    const flusher = new WriteBehind(failing, 10);
    flusher.wrote(20);
    await expect(flusher.sync()).rejects.toThrow(/EIO/);
    expect(synced).toBe(false);
  });
});
