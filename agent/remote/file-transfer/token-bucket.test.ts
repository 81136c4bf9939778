import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('lets one second\'s worth through at once, then paces at the rate', () => {
    let now = 0;
    const b = new TokenBucket(60_000, () => now); // 1000 B/s, bucket of 1000 B
    expect(b.reserve(1000)).toBe(0);
    expect(b.reserve(500)).toBe(500); // in debt by 500 B = 0.5 s
    now = 500;
    expect(b.reserve(1000)).toBe(1000);
    now = 10_000; // a long pause refills to the cap only
    expect(b.reserve(1000)).toBe(0);
    expect(b.reserve(1)).toBe(1);
  });

  it('never waits without a limit', () => {
    const b = new TokenBucket(Infinity);
    expect(b.reserve(1e12)).toBe(0);
  });
});
