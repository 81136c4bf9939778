import { describe, expect, it } from 'vitest';
import { readVarint, varintLength, writeVarint } from './varint';

describe('varint', () => {
  it('round-trips lengths and offsets, above 2^31 too, in the bytes protobuf uses', () => {
    for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 35 - 1]) {
      const buf = Buffer.alloc(10);
      const end = writeVarint(buf, 1, n);
      expect(end - 1).toBe(varintLength(n));
      expect(readVarint(buf, 1)).toEqual({ value: n, at: end });
    }
    const b = Buffer.alloc(2);
    writeVarint(b, 0, 300);
    expect([...b]).toEqual([0xac, 0x02]);
  });

  it('says a varint cut short is incomplete', () => {
    expect(readVarint(Buffer.from([0x80, 0x80]), 0)).toBeUndefined();
  });
});
