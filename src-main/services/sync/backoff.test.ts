import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, jittered within the upper half', () => {
    const low = (attempt: number) => backoffDelay(attempt, { baseMs: 500, maxMs: 15_000, random: () => 0 });
    const high = (attempt: number) => backoffDelay(attempt, { baseMs: 500, maxMs: 15_000, random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(high)).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect([0, 1, 5, 50].map(low)).toEqual([250, 500, 7500, 7500]);
  });

  it('spreads retries with the default random source', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(3)));
    expect(delays.size).toBeGreaterThan(1);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(2000);
  });
});
