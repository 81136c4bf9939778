import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { downloadArtifact, syncInterval, type ChunkStream, type DownloadOptions } from './download';

// The stall watchdog: a connection can die without ending its calls (seen in
// tests/system/network-cut.test.ts before device keepalive), so a stream that
// stops delivering must be given up and asked again from the byte reached.

const CHUNK = 64 * 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Serves `data` from `offset`; when `stallAfter` is set, goes silent (never ends) after that many bytes until cancelled. */
function chunkStream(data: Buffer, offset: number, stallAfter?: number): ChunkStream & { cancelled: boolean } {
  let cancelled = false;
  let wake: (() => void) | undefined;
  const stream = {
    get cancelled() {
      return cancelled;
    },
    cancel() {
      cancelled = true;
      wake?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<DownloadChunk> {
      for (let pos = offset; pos < data.length; pos += CHUNK) {
        if (stallAfter !== undefined && pos - offset >= stallAfter) {
          await new Promise<void>((resolve) => (wake = resolve));
          throw Object.assign(new Error('Cancelled on client'), { code: grpc.status.CANCELLED });
        }
        yield { offset: pos, data: data.subarray(pos, pos + CHUNK), totalSize: data.length };
      }
    },
  };
  return stream;
}

function options(dir: string, data: Buffer, o: Partial<DownloadOptions>): DownloadOptions {
  return {
    file: join(dir, 'artifact.part'),
    artifactId: createHash('sha256').update(data).digest('hex'),
    size: data.length,
    durableOffset: 0,
    open: (offset) => chunkStream(data, offset),
    waitOnline: async () => undefined,
    onDurable: async () => undefined,
    onProgress: () => undefined,
    freeSpace: async () => 1e12,
    log: () => undefined,
    signal: new AbortController().signal,
    backoff: { baseMs: 10, maxMs: 20 },
    ...o,
  };
}

describe('downloadArtifact', () => {
  it('makes offsets durable in order, each only once its bytes are in the file, and holds the stream while the disk is behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'download-'));
    dirs.push(dir);
    const data = randomBytes(4 * 1024 * 1024);
    const file = join(dir, 'artifact.part');
    const durable: number[] = [];
    let aheadOfDisk = 0;
    const maxBuffered = 4 * CHUNK;
    await downloadArtifact(
      options(dir, data, {
        syncEvery: 512 * 1024,
        maxBuffered,
        // Slow state saves must not hold the writes behind them.
        onDurable: async (offset) => {
          expect(readFileSync(file).subarray(0, offset).equals(data.subarray(0, offset))).toBe(true);
          durable.push(offset);
          await new Promise((r) => setTimeout(r, 20));
        },
        onProgress: (bytes) => (aheadOfDisk = Math.max(aheadOfDisk, bytes - statSync(file).size)),
      }),
    );
    expect(readFileSync(file).equals(data)).toBe(true);
    expect(durable.at(-1)).toBe(data.length);
    expect(durable).toEqual([...durable].sort((a, b) => a - b));
    // Marks every 512 KiB (folded when one arrives while a sync runs), then the end.
    const marks = durable.slice(0, -1);
    expect(new Set(marks).size).toBe(marks.length);
    for (const offset of marks) expect(offset % (512 * 1024)).toBe(0);
    expect(marks.length).toBeGreaterThan(1);
    // Never more than maxBuffered bytes (plus the chunk just received) waited for the disk.
    expect(aheadOfDisk).toBeLessThanOrEqual(maxBuffered + CHUNK);
  });

  it('writes lent bytes correctly though the stream reuses their buffer at the next pull, for in-line and background hashes', async () => {
    for (const size of [1024 * 1024, 6 * 1024 * 1024]) {
      const dir = mkdtempSync(join(tmpdir(), 'download-'));
      dirs.push(dir);
      const data = randomBytes(size);
      // One buffer for every chunk, scribbled over once the downloader asks for the next.
      const lent = Buffer.alloc(CHUNK);
      const borrowing: ChunkStream = {
        cancel: () => undefined,
        async *[Symbol.asyncIterator]() {
          for (let pos = 0; pos < data.length; pos += CHUNK) {
            data.copy(lent, 0, pos, pos + CHUNK);
            yield { offset: pos, data: lent, totalSize: data.length, borrowed: true };
            lent.fill(0xee);
          }
        },
      };
      // A slow disk keeps lent bytes waiting in the writer while the next ones arrive.
      await downloadArtifact(options(dir, data, { open: () => borrowing, maxBuffered: 8 * CHUNK, syncEvery: 256 * 1024, onDurable: () => new Promise((r) => setTimeout(r, 5)) }));
      expect(readFileSync(join(dir, 'artifact.part')).equals(data)).toBe(true);
    }
  });

  it('fails at once on a local failure (saving the durable offset) instead of asking the hub again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'download-'));
    dirs.push(dir);
    const data = randomBytes(1024 * 1024);
    let opened = 0;
    const run = downloadArtifact(
      options(dir, data, {
        syncEvery: syncInterval(data.length),
        open: (offset) => (opened++, chunkStream(data, offset)),
        onDurable: async () => {
          throw new Error('the state disk is read-only');
        },
      }),
    );
    await expect(run).rejects.toThrow('the state disk is read-only');
    expect(opened).toBe(1);
  });

  it('gives up a stream that stops delivering and resumes from the byte reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'download-'));
    dirs.push(dir);
    const data = randomBytes(1024 * 1024);
    const opened: { offset: number; stream: ReturnType<typeof chunkStream> }[] = [];
    const lines: string[] = [];
    const started = Date.now();
    await downloadArtifact({
      file: join(dir, 'artifact.part'),
      artifactId: createHash('sha256').update(data).digest('hex'),
      size: data.length,
      durableOffset: 0,
      open: (offset) => {
        const stream = chunkStream(data, offset, opened.length === 0 ? 5 * CHUNK : undefined);
        opened.push({ offset, stream });
        return stream;
      },
      waitOnline: async () => undefined,
      onDurable: async () => undefined,
      onProgress: () => undefined,
      freeSpace: async () => 1e12,
      log: (line) => lines.push(line),
      signal: new AbortController().signal,
      backoff: { baseMs: 10, maxMs: 20 },
      stallMs: 300,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(opened.map((o) => o.offset)).toEqual([0, 5 * CHUNK]);
    expect(opened[0].stream.cancelled).toBe(true);
    expect(readFileSync(join(dir, 'artifact.part')).equals(data)).toBe(true);
    expect(lines.some((l) => /no download data for 0 s at byte 327680/.test(l))).toBe(true);
  });
});
