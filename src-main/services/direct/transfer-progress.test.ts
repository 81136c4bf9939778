import { describe, expect, it } from 'vitest';
import { ProgressMeter, type TransferProgress } from './transfer-progress';

describe('ProgressMeter', () => {
  it('throttles events, measures speed over a sliding window and gives an ETA', () => {
    let t = 0;
    const seen: TransferProgress[] = [];
    const m = new ProgressMeter(10_000, (p) => seen.push(p), 200, () => t);
    for (let i = 1; i <= 30; i++) {
      t = i * 100;
      m.update(i * 100);
    }
    expect(seen.length).toBe(15);
    const last = seen[seen.length - 1];
    expect(last.bytesPerSecond).toBeCloseTo(1000, 0);
    expect(last.etaSeconds).toBeCloseTo(7, 0);
    // The link slows to 100 B/s: the window forgets the fast past within 2 s.
    for (let i = 1; i <= 30; i++) {
      t = 3000 + i * 100;
      m.update(3000 + i * 10);
    }
    expect(m.current().bytesPerSecond).toBeCloseTo(100, 0);
    m.finish();
    expect(seen[seen.length - 1].bytes).toBe(3300);
  });

  it('reports an unknown ETA before any speed is measurable and 0 when done', () => {
    let t = 0;
    const m = new ProgressMeter(100, undefined, 200, () => t);
    expect(m.current().etaSeconds).toBeNull();
    t = 10;
    m.update(100);
    expect(m.current().etaSeconds).toBe(0);
  });
});
