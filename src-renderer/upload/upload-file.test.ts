import { describe, expect, it } from 'vitest';
import type { ConsoleApi, UploadProgress } from '../../src-main/common/console-api';
import { blobToBase64, UploadCancelled, uploadFile } from './upload-file';

// The renderer's upload loop against a stand-in for the services that
// answers chunks late and out of order, checking what a real one checks.

interface Stub {
  api: ConsoleApi['artifacts'];
  received: Map<number, Uint8Array>;
  maxSeenInFlight: () => number;
  cancelled: string[];
  finished: () => boolean;
}

function stub(opts: { chunkBytes: number; maxInFlight: number; failAt?: number }): Stub {
  const received = new Map<number, Uint8Array>();
  const cancelled: string[] = [];
  let inFlight = 0;
  let maxSeen = 0;
  let finished = false;
  let size = 0;
  const api: ConsoleApi['artifacts'] = {
    list: async () => [],
    uploadBegin: async (p) => {
      size = p.size;
      return { uploadId: 'u1', chunkBytes: opts.chunkBytes, maxInFlight: opts.maxInFlight };
    },
    uploadChunk: async (_id, offset, data): Promise<UploadProgress> => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      // Later chunks answer sooner: the loop must not depend on order.
      await new Promise((r) => setTimeout(r, 20 - ((offset / opts.chunkBytes) % 4) * 5));
      inFlight--;
      if (offset === opts.failAt) throw new Error('the hub refused x.fleet: permission denied');
      const chunk = fromBase64(data);
      received.set(offset, chunk);
      return { bytesSent: offset + chunk.length, size };
    },
    uploadFinish: async () => {
      finished = true;
      return { artifact: { id: 'a', name: 'n', version: '1', group: 'n', deviceTypes: [], size, signatureStatus: 'trusted', keyId: '', uploadedMs: 0, uploadedBy: '', payloadSummary: '' }, deduplicated: false };
    },
    uploadCancel: async (id) => void cancelled.push(id),
  };
  return { api, received, cancelled, maxSeenInFlight: () => maxSeen, finished: () => finished };
}

const fromBase64 = (data: string) => Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 131 + 7) % 256);
const file = () => new File([bytes], 'x.fleet');

describe('uploadFile', () => {
  it('sends every byte once, at most maxInFlight chunks at a time, then finishes', async () => {
    const s = stub({ chunkBytes: 1024, maxInFlight: 3 });
    const progress: number[] = [];
    let verifying = false;
    const result = await uploadFile(s.api, file(), { onProgress: (n) => progress.push(n), onVerifying: () => (verifying = true), signal: new AbortController().signal });
    expect(result.artifact.size).toBe(bytes.length);
    const joined = [...s.received.entries()].sort(([a], [b]) => a - b).flatMap(([, b]) => [...b]);
    expect(Uint8Array.from(joined)).toEqual(bytes);
    expect(s.received.size).toBe(10);
    expect(s.maxSeenInFlight()).toBe(3);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(verifying).toBe(true);
  });

  it('stops on the first refused chunk, passes the hub error on and releases the upload', async () => {
    const s = stub({ chunkBytes: 1024, maxInFlight: 2, failAt: 3072 });
    await expect(uploadFile(s.api, file(), { onProgress: () => {}, signal: new AbortController().signal })).rejects.toThrow('permission denied');
    expect(s.finished()).toBe(false);
    expect(s.cancelled).toEqual(['u1']);
    expect(Math.max(...s.received.keys())).toBeLessThan(6 * 1024);
  });

  it('cancels on abort', async () => {
    const s = stub({ chunkBytes: 1024, maxInFlight: 2 });
    const abort = new AbortController();
    const done = uploadFile(s.api, file(), { onProgress: (n) => n >= 2048 && abort.abort(), signal: abort.signal });
    await expect(done).rejects.toBeInstanceOf(UploadCancelled);
    expect(s.finished()).toBe(false);
    expect(s.cancelled).toContain('u1');
  });

  it('encodes any bytes as base64', async () => {
    const all = Uint8Array.from({ length: 70_000 }, (_, i) => i % 256);
    expect(fromBase64(await blobToBase64(new Blob([all])))).toEqual(all);
  });
});
