import { describe, expect, it } from 'vitest';
import { CreditGranter, CreditSender } from './flow-control';

describe('CreditSender', () => {
  it('never sends past the granted credit and holds the rest until granted', () => {
    const sent: number[] = [];
    const s = new CreditSender((c) => sent.push(c.byteLength), 4);
    expect(s.write(new Uint8Array(10))).toBe(false);
    expect(sent).toEqual([]);
    s.grant(6);
    expect(sent).toEqual([4, 2]); // cut to maxFrameBytes, stops at credit
    expect(s.pendingBytes).toBe(4);
    let drained = 0;
    s.onDrain(() => drained++);
    s.grant(100);
    expect(sent).toEqual([4, 2, 4]);
    expect(drained).toBe(1);
    expect(s.available).toBe(96);
    expect(s.write(new Uint8Array(3))).toBe(true);
  });

  it('refuses a bad grant', () => {
    const s = new CreditSender(() => undefined);
    expect(() => s.grant(-1)).toThrow(/positive integer/);
    expect(() => s.grant(1.5)).toThrow(/positive integer/);
  });
});

describe('CreditGranter', () => {
  it('grants the window, then again after a quarter of it is consumed', () => {
    const grants: number[] = [];
    const g = new CreditGranter((n) => grants.push(n), 100);
    g.start();
    g.received(60);
    g.consumed(20);
    expect(grants).toEqual([100]);
    g.consumed(10);
    expect(grants).toEqual([100, 30]);
  });

  it('detects a sender that overruns its window', () => {
    const g = new CreditGranter(() => undefined, 100);
    g.start();
    g.received(100);
    expect(() => g.received(1)).toThrow(/sent 1 bytes past its window/);
  });
});
