import { describe, expect, it } from 'vitest';
import { Slots } from './slots';

describe('Slots', () => {
  it('lets at most `size` hold at once, hands freed slots on in order, and lets an aborted waiter go', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    const a = await slots.acquire();
    const b = await slots.acquire();
    expect(slots.held).toBe(2);
    const quit = new AbortController();
    const c = slots.acquire().then((release) => (order.push('c'), release));
    const gaveUp = slots.acquire(quit.signal).then((release) => (order.push('gave up'), release));
    const d = slots.acquire().then((release) => (order.push('d'), release));
    quit.abort();
    await gaveUp;
    a();
    a(); // a second release of the same slot is ignored
    const releaseC = await c;
    expect(order).toEqual(['gave up', 'c']);
    expect(slots.held).toBe(2);
    b();
    (await d)();
    releaseC();
    expect(order).toEqual(['gave up', 'c', 'd']);
    expect(slots.held).toBe(0);
    expect(() => new Slots(0)).toThrow(/whole number >= 1/);
  });
});
