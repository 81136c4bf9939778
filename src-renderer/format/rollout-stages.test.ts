import { describe, expect, it } from 'vitest';
import { doneCount, stageCounts } from './rollout-stages';

describe('rollout stages', () => {
  it('counts a device for every stage it went past', () => {
    const counts = { pending: 3, downloading: 1, 'paused-before-install': 2, 'paused-before-reboot': 4, verifying: 1, success: 5, 'rolled-back': 1, failure: 1, incompatible: 2 };
    expect(stageCounts(counts)).toEqual({ downloaded: 2 + 4 + 1 + 5, paused: 6, installed: 4 + 1 + 5, committed: 5, failed: 2 });
    expect(doneCount(counts)).toBe(5 + 1 + 1 + 2);
  });
  it('is all zero for nothing', () => {
    expect(stageCounts({})).toEqual({ downloaded: 0, paused: 0, installed: 0, committed: 0, failed: 0 });
  });
});
