import { describe, expect, it } from 'vitest';
import { InboundWindow, OutboundCredit } from './credit';

describe('OutboundCredit', () => {
  it('waits for a grant, then hands out at most the credit and one frame', async () => {
    const credit = new OutboundCredit();
    let got: number | undefined;
    const pending = credit.take(100_000, 64 * 1024).then((n) => (got = n));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBeUndefined();
    credit.grant(1000);
    await pending;
    expect(got).toBe(1000);
    expect(credit.available).toBe(0);
    credit.grant(200_000);
    expect(await credit.take(100_000, 64 * 1024)).toBe(65_536);
    expect(await credit.take(10)).toBe(10);
    expect(credit.available).toBe(200_000 - 65_536 - 10);
  });

  it('releases waiters with 0 when the channel ends, and refuses bad grants', async () => {
    const credit = new OutboundCredit();
    const pending = credit.take(5);
    credit.end();
    expect(await pending).toBe(0);
    expect(await credit.take(5)).toBe(0);
    expect(() => credit.grant(0)).toThrow(/invalid window/);
    expect(() => credit.grant(1.5)).toThrow(/invalid window/);
  });
});

describe('InboundWindow', () => {
  it('grants the window, then again once half of it was consumed', () => {
    const grants: number[] = [];
    const w = new InboundWindow((n) => grants.push(n), 1000);
    w.start();
    w.received(1000);
    w.consumed(400);
    expect(grants).toEqual([1000]);
    w.consumed(100);
    expect(grants).toEqual([1000, 500]);
    w.received(500);
    expect(() => w.received(1)).toThrow(/1 bytes past the window of 1000/);
  });
});
