import { describe, expect, it } from 'vitest';
import { assignPhases, phaseSizes } from './phase-plan';
import type { PhaseConfig } from './rollout-config';

const phase = (size: { percent?: number; count?: number }): PhaseConfig => ({
  percent: size.percent ?? 0,
  count: size.count ?? 0,
  startMs: 0,
  manual: false,
  successPercent: 100,
  maxFailures: { count: 0, percent: 0 },
});

describe('phases', () => {
  it('cuts devices into phases by percent or count; the last takes the rest', () => {
    expect(phaseSizes(200, [phase({ percent: 10 }), phase({ percent: 50 }), phase({ percent: 100 })])).toEqual([20, 100, 80]);
    expect(phaseSizes(10, [phase({ count: 3 }), phase({ percent: 10 }), phase({})])).toEqual([3, 1, 6]);
    expect(phaseSizes(3, [phase({ count: 5 }), phase({ count: 5 }), phase({})])).toEqual([3, 0, 0]);
    expect(phaseSizes(5, [phase({ percent: 1 }), phase({})])).toEqual([1, 4]);
  });

  it('assigns each device one phase, reproducibly and independent of the input order', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `dev-${i}`);
    const phases = [phase({ percent: 10 }), phase({ percent: 50 }), phase({})];
    const a = assignPhases('dep-1', ids, phases);
    const b = assignPhases('dep-1', [...ids].reverse(), phases);
    expect([...a].sort()).toEqual([...b].sort());
    const counts = [1, 2, 3].map((n) => [...a.values()].filter((p) => p === n).length);
    expect(counts).toEqual([20, 100, 80]);
    // Not simply the first ids: the hash spreads them.
    expect(ids.slice(0, 20).every((id) => a.get(id) === 1)).toBe(false);
    // Another deployment picks another first phase.
    const other = assignPhases('dep-2', ids, phases);
    expect(ids.filter((id) => a.get(id) === 1)).not.toEqual(ids.filter((id) => other.get(id) === 1));
  });
});
