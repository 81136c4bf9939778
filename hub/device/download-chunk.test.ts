import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { EncodedChunk, HUB_DEVICE_SERVICE, encodeDownloadChunk } from './download-chunk';

describe('DownloadChunk encoded by hand', () => {
  it('gives the same bytes as the generated encoder, and decodes back', () => {
    const cases: DownloadChunk[] = [
      { offset: 0, data: Buffer.alloc(0), totalSize: 0 },
      { offset: 0, data: randomBytes(1), totalSize: 1 },
      { offset: 127, data: randomBytes(128), totalSize: 128 + 127 },
      { offset: 300_001, data: randomBytes(70_656), totalSize: 700_000 },
      { offset: 2 ** 31 + 5, data: randomBytes(256 * 1024), totalSize: 2 ** 40 + 3 },
      { offset: Number.MAX_SAFE_INTEGER - 1, data: randomBytes(3), totalSize: Number.MAX_SAFE_INTEGER },
    ];
    for (const c of cases) {
      const mine = encodeDownloadChunk(c.offset, c.data, c.totalSize);
      expect(mine.equals(Buffer.from(DownloadChunk.encode(c).finish())), `offset ${c.offset}, ${c.data.length} bytes`).toBe(true);
      const back = DownloadChunk.decode(mine);
      expect([back.offset, back.totalSize, Buffer.from(back.data).equals(Buffer.from(c.data))]).toEqual([c.offset, c.totalSize, true]);
    }
  });

  it("the hub's Download serializer encodes chunks and passes encoded ones through untouched", () => {
    const serialize = HUB_DEVICE_SERVICE.download.responseSerialize as (v: DownloadChunk | EncodedChunk) => Buffer;
    const chunk = { offset: 5, data: randomBytes(10), totalSize: 15 };
    expect(serialize(chunk).equals(Buffer.from(DownloadChunk.encode(chunk).finish()))).toBe(true);
    const encoded = new EncodedChunk(encodeDownloadChunk(chunk.offset, chunk.data, chunk.totalSize));
    expect(serialize(encoded)).toBe(encoded.bytes);
  });
});
