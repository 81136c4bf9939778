import { describe, expect, it } from 'vitest';
import { defaultRollout, exceeds, rolloutFromOptions, type RolloutConfig } from './rollout-config';
import { hasFailureLimit, haltReason, mayAdvance, phasesToAdvance, type PhaseCounts } from './rollout-progress';
import { RpcError } from '../rpc-error';

const config = (over: Partial<RolloutConfig>): RolloutConfig => ({ ...defaultRollout(), ...over });
const phase = (successPercent = 100, maxFailures = { count: 0, percent: 0 }, more: { manual?: boolean; startMs?: number } = {}) => ({
  percent: 0,
  count: 1,
  startMs: more.startMs ?? 0,
  manual: more.manual ?? false,
  successPercent,
  maxFailures,
});

describe('failure thresholds', () => {
  it('are exceeded strictly above the count or the percent', () => {
    expect(exceeds({ count: 2, percent: 0 }, 2, 10)).toBe(false);
    expect(exceeds({ count: 2, percent: 0 }, 3, 10)).toBe(true);
    expect(exceeds({ count: 0, percent: 5 }, 10, 200)).toBe(false);
    expect(exceeds({ count: 0, percent: 5 }, 11, 200)).toBe(true);
    expect(exceeds({ count: 0, percent: 0 }, 200, 200)).toBe(false);
  });

  it('halt with the overall reason first, then a phase, leaving incompatible devices out', () => {
    const c = config({ maxFailures: { count: 0, percent: 15 }, phases: [phase(100, { count: 1, percent: 0 }), phase()] });
    const counts: PhaseCounts = new Map([
      [1, { failure: 1, success: 3, incompatible: 4 }],
      [2, { pending: 12 }],
    ]);
    expect(haltReason(c, counts)).toBeUndefined();
    counts.set(1, { failure: 1, 'rolled-back': 1, success: 2, incompatible: 4 });
    expect(haltReason(c, counts)).toBe('2 of 4 devices of phase 1 failed, more than its threshold of 1 device');
    counts.set(2, { failure: 1, pending: 11 });
    expect(haltReason(c, counts)).toBe("3 of 16 devices failed, more than the deployment's threshold of 15%");
  });
});

describe('automatic phase starts', () => {
  it('start the next phase once the previous reached its success percent, in a chain, never a manual or timed one', () => {
    const c = config({ phases: [phase(50), phase(), phase(100, undefined, { manual: true }), phase(100, undefined, { startMs: 5 })] });
    const counts: PhaseCounts = new Map([
      [1, { success: 1, downloading: 2, incompatible: 1 }],
      [2, { 'already-installed': 2 }],
    ]);
    expect(phasesToAdvance(c, [1, 0, 0, 0], counts)).toEqual([]);
    counts.set(1, { success: 2, downloading: 1, incompatible: 1 });
    // Phase 2 is all already installed: 3 follows, but it waits for a hand.
    expect(phasesToAdvance(c, [1, 0, 0, 0], counts)).toEqual([2]);
    expect(phasesToAdvance(config({ phases: [phase(), phase(), phase()] }), [1, 0, 0], new Map())).toEqual([2, 3]);
  });
});

describe('when counting devices is needed at all', () => {
  it('thresholds: only when one is set, overall or for a phase', () => {
    expect(hasFailureLimit(config({}))).toBe(false);
    expect(hasFailureLimit(config({ maxFailures: { count: 0, percent: 5 } }))).toBe(true);
    expect(hasFailureLimit(config({ phases: [phase(), phase(100, { count: 3, percent: 0 })] }))).toBe(true);
  });

  it('phase starts: only while an automatic phase waits behind a started one', () => {
    expect(mayAdvance(config({}), [1])).toBe(false);
    const c = config({ phases: [phase(), phase(), phase(100, undefined, { manual: true }), phase(100, undefined, { startMs: 5 })] });
    expect(mayAdvance(c, [0, 0, 0, 0])).toBe(false);
    expect(mayAdvance(c, [1, 0, 0, 0])).toBe(true);
    // Phase 3 is by hand and 4 at a time: nothing starts on success.
    expect(mayAdvance(c, [1, 1, 0, 0])).toBe(false);
    expect(mayAdvance(c, [1, 1, 1, 0])).toBe(false);
  });
});

describe('rollout options', () => {
  const options = (o: object) => ({ phases: [], pauseBefore: [], window: undefined, maxFailures: undefined, retries: 0, dynamicGroup: '', maxDevices: 0, ...o });
  const refusal = (o: object) => {
    try {
      rolloutFromOptions(options(o));
    } catch (err) {
      return (err as RpcError).message;
    }
    return 'accepted';
  };

  it('fills defaults and orders pause points', () => {
    const c = rolloutFromOptions(options({ pauseBefore: ['commit', 'install', 'install'], phases: [{ percent: 10, count: 0, startMs: 0, manual: false, successPercent: 0, maxFailures: undefined }, { percent: 0, count: 0, startMs: 0, manual: true, successPercent: 0, maxFailures: undefined }] }));
    expect(c.pauseBefore).toEqual(['install', 'commit']);
    expect(c.phases.map((p) => p.successPercent)).toEqual([100, 100]);
  });

  it('refuses what makes no sense, saying what to change', () => {
    const p = (x: object) => ({ percent: 0, count: 0, startMs: 0, manual: false, successPercent: 0, maxFailures: undefined, ...x });
    expect(refusal({ phases: [p({ percent: 10, count: 3 }), p({})] })).toMatch(/phase 1: give its size as a percent or as a count, not both/);
    expect(refusal({ phases: [p({}), p({})] })).toMatch(/phase 1: give its size/);
    expect(refusal({ phases: [p({ percent: 120 }), p({})] })).toMatch(/percent must be between 1 and 100/);
    expect(refusal({ phases: [p({ manual: true, startMs: 5 })] })).toMatch(/either by hand or at a time/);
    expect(refusal({ pauseBefore: ['lunch'] })).toMatch(/pause point "lunch" is not known/);
    expect(refusal({ retries: -1 })).toMatch(/retries must be between 0 and 100/);
    expect(refusal({ maxDevices: 3 })).toMatch(/give dynamic_group too/);
    expect(refusal({ maxFailures: { count: 0, percent: 101 } })).toMatch(/failure percent threshold/);
    expect(refusal({ window: { cron: '0 2 * *', durationMs: 3_600_000, timeZone: '' } })).toMatch(/maintenance window: .*has 4 fields/);
  });
});
