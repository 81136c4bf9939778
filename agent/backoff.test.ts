import { describe, expect, it } from 'vitest';
import { Backoff, withJitter } from './backoff';

describe('Backoff', () => {
  it('doubles its ceiling from base up to max', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0.999999);
    const waits = Array.from({ length: 8 }, () => b.next());
    expect(waits).toEqual([99, 199, 399, 799, 999, 999, 999, 999]);
  });

  it('uses full jitter: waits are spread over [0, ceiling]', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000 });
    for (let i = 0; i < 10; i++) b.next();
    const waits = Array.from({ length: 2000 }, () => b.next());
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThanOrEqual(60_000);
    // Uniform over [0, 60 s]: both halves are well populated.
    expect(waits.filter((w) => w < 30_000).length).toBeGreaterThan(800);
    expect(waits.filter((w) => w >= 30_000).length).toBeGreaterThan(800);
    expect(new Set(waits).size).toBeGreaterThan(1000);
  });

  it('starts over after reset and never overflows', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 60_000 }, () => 1);
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.ceiling()).toBe(60_000);
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('rejects nonsense bounds', () => {
    expect(() => new Backoff({ baseMs: 0, maxMs: 10 })).toThrow(/0 < baseMs <= maxMs/);
    expect(() => new Backoff({ baseMs: 100, maxMs: 10 })).toThrow(/0 < baseMs <= maxMs/);
  });

  it('withJitter adds up to the fraction on top', () => {
    expect(withJitter(1000, 0.2, () => 0)).toBe(1000);
    expect(withJitter(1000, 0.2, () => 0.999999)).toBe(1199);
  });
});
