import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aligned, type AlignedPair } from './aligned-stages';
import { DirectSink } from './direct-sink';
import { BufferedSink, type UploadSink } from './upload-sink';

// Runs on the disk-backed temp folder of the test machine (ext4 here), where
// direct I/O is available: that the bytes bypass the page cache is read
// back with util-linux's `fincore` (bytes of the file resident in memory).

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'direct-sink-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const resident = (path: string): number => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());

/** Writes `data` from `at` in chunks of the given sizes (cycled) and finishes or flushes. */
async function feed(sink: UploadSink, data: Buffer, sizes: number[], end: 'finish' | 'flush', at = 0): Promise<void> {
  for (let i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - at);
    await sink.write(data.subarray(at, at + n));
    at += n;
  }
  if (end === 'finish') await sink.finish(data.length);
  else await sink.flush();
  await sink.close();
}

describe('DirectSink', () => {
  it('writes odd-sized chunks past the page cache and cuts the padded tail to the real size', async () => {
    const path = join(dir, 'direct.bin');
    const data = randomBytes(9 * 1024 * 1024 + 777);
    const file = await open(path, 'w+');
    const sink = await DirectSink.open(file, 0);
    expect(sink?.direct).toBe(true);
    await feed(sink!, data, [1, 4095, 300 * 1024, 1024 * 1024 + 1, 65536], 'finish');
    expect(sink!.direct).toBe(true); // no fallback happened on the way
    await file.close();
    expect(statSync(path).size).toBe(data.length);
    // Nothing of it went through memory: at most the tail's block.
    expect(resident(path)).toBeLessThanOrEqual(4096);
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('is measured against page-cache writes, which leave the file in memory', async () => {
    const path = join(dir, 'buffered.bin');
    const data = randomBytes(9 * 1024 * 1024);
    const file = await open(path, 'w+');
    await feed(new BufferedSink(file, 0), data, [256 * 1024], 'finish');
    await file.close();
    expect(resident(path)).toBeGreaterThan(data.length / 2);
  });

  it('resumes from an offset inside a block with the bytes before it read back', async () => {
    const path = join(dir, 'resume.bin');
    const data = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(path, data.subarray(0, 5000)); // a cut left 5000 bytes: not a whole block
    const file = await open(path, 'r+');
    const sink = await DirectSink.open(file, 5000);
    expect(sink?.direct).toBe(true);
    await feed(sink!, data, [70_000], 'finish', 5000);
    await file.close();
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('writes out what it holds at a cut, so the temp file ends at the last byte received', async () => {
    const path = join(dir, 'cut.bin');
    const data = randomBytes(1024 * 1024 + 300_001); // one whole stage and part of the next
    const file = await open(path, 'w+');
    await feed((await DirectSink.open(file, 0))!, data, [100_000], 'flush');
    await file.close();
    expect(statSync(path).size).toBe(data.length);
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it('gives way to page-cache writes when every aligned stage is taken, and hands its stage back', async () => {
    const taken: AlignedPair[] = [];
    for (let p = aligned.take(); p; p = aligned.take()) taken.push(p);
    expect(taken.length).toBeGreaterThan(0);
    const file = await open(join(dir, 'none-free.bin'), 'w+');
    expect(await DirectSink.open(file, 0)).toBeNull();
    taken.pop()!.release();
    const sink = await DirectSink.open(file, 0);
    expect(sink?.direct).toBe(true);
    await sink!.close();
    const again = await DirectSink.open(file, 0); // the closed sink's stage is free again
    expect(again).not.toBeNull();
    await again!.close();
    for (const p of taken) p.release();
    await file.close();
  });
});

describe('BufferedSink', () => {
  it('starts writing a big file to disk while it arrives (write-behind)', async () => {
    const path = join(dir, 'write-behind.bin');
    const file = await open(path, 'w+');
    const sink = new BufferedSink(file, 0);
    const chunk = randomBytes(1024 * 1024);
    for (let i = 0; i < 80; i++) await sink.write(chunk);
    // One datasync at a time, started every 32 MiB written: at least one ran while bytes still came.
    expect(sink.backgroundFlushes).toBeGreaterThanOrEqual(1);
    await sink.finish();
    await file.close();
    expect(statSync(path).size).toBe(80 * 1024 * 1024);
  });
});
