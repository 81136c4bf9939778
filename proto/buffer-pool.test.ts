import { describe, expect, it } from 'vitest';
import { BufferPool, HEADROOM } from './buffer-pool';

describe('BufferPool', () => {
  it('hands a released slab out again, once, and leaves big or foreign buffers to the collector', () => {
    const pool = new BufferPool([{ maxBytes: 1024, keep: 2 }]);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    expect(a.byteOffset).toBe(HEADROOM);
    pool.release(a.subarray(10, 20)); // any view of it
    pool.release(a); // twice: ignored
    const b = pool.take(1000);
    expect(b.buffer).toBe(a.buffer);
    const c = pool.take(1000);
    expect(c.buffer).not.toBe(a.buffer); // not handed out twice

    const big = pool.take(5000);
    expect(big.length).toBe(5000);
    pool.release(big);
    expect(pool.take(10).buffer).not.toBe(big.buffer);

    const foreign = Buffer.alloc(1024 + HEADROOM);
    pool.release(foreign);
    expect(pool.take(10).buffer).not.toBe(foreign.buffer);
  });

  it('serves each size from its own class', () => {
    const pool = new BufferPool([{ maxBytes: 4096, keep: 2 }, { maxBytes: 64, keep: 2 }]);
    const small = pool.take(10);
    const mid = pool.take(1000);
    expect(small.buffer.byteLength).toBe(HEADROOM + 64);
    expect(mid.buffer.byteLength).toBe(HEADROOM + 4096);
    pool.release(mid);
    pool.release(small);
    expect(pool.take(64).buffer).toBe(small.buffer);
    expect(pool.take(65).buffer).toBe(mid.buffer);
  });

  it('keeps at most `keep` free slabs', () => {
    const pool = new BufferPool([{ maxBytes: 64, keep: 1 }]);
    const [a, b] = [pool.take(1), pool.take(1)];
    pool.release(a);
    pool.release(b);
    expect(pool.take(1).buffer).toBe(a.buffer);
    expect(pool.take(1).buffer).not.toBe(b.buffer);
  });

  it('says how much room lies in front of a pool buffer (none for others)', () => {
    const pool = new BufferPool([{ maxBytes: 64, keep: 1 }]);
    const a = pool.take(32);
    expect(BufferPool.headroom(a)).toBe(HEADROOM);
    expect(BufferPool.headroom(a.subarray(5))).toBe(HEADROOM + 5);
    expect(BufferPool.headroom(Buffer.alloc(100).subarray(20))).toBe(0);
  });
});
