import { describe, expect, it } from 'vitest';
import { defaultPlan, describePhase, describeWindow, toLocalTime, toRolloutOptions } from './rollout-plan';

describe('rollout plan', () => {
  it('turns the wizard rows into rollout options', () => {
    const plan = { ...defaultPlan(), pauseBefore: ['reboot' as const], maxFailures: '5', retries: '2' };
    plan.phases = [
      { size: '10', unit: 'percent', start: 'auto' },
      { size: '3', unit: 'count', start: 'manual' },
      { size: '100', unit: 'percent', start: 'auto' },
    ];
    plan.window = { enabled: true, cron: ' 0 2 * * * ', hours: '1.5', timeZone: 'Europe/Oslo' };
    expect(toRolloutOptions(plan)).toEqual({
      options: {
        phases: [
          { percent: 10, manual: false },
          { count: 3, manual: true },
          { percent: 100, manual: false },
        ],
        pauseBefore: ['reboot'],
        window: { cron: '0 2 * * *', durationMs: 5_400_000, timeZone: 'Europe/Oslo' },
        maxFailures: { percent: 5 },
        retries: 2,
      },
    });
  });
  it('takes a phase start time and per-phase failure thresholds', () => {
    const plan = defaultPlan();
    plan.phases = [
      { size: '10', unit: 'percent', start: 'time', at: '2030-01-02T03:04', maxFailures: '2', maxFailuresUnit: 'count' },
      { size: '100', unit: 'percent', start: 'auto', maxFailures: '10' },
    ];
    expect(toRolloutOptions(plan)).toMatchObject({
      options: {
        phases: [
          { percent: 10, manual: false, startMs: new Date(2030, 0, 2, 3, 4).getTime(), maxFailures: { count: 2, percent: 0 } },
          { percent: 100, manual: false, maxFailures: { count: 0, percent: 10 } },
        ],
      },
    });
    expect(toLocalTime(new Date(2030, 0, 2, 3, 4).getTime())).toBe('2030-01-02T03:04');
    expect(toRolloutOptions({ ...plan, phases: [{ size: '10', unit: 'percent', start: 'time', at: '' }] })).toEqual({ error: 'Phase 1: give the date and time it starts.' });
    expect(toRolloutOptions({ ...plan, phases: [{ size: '10', unit: 'percent', start: 'auto', maxFailures: '101' }] })).toEqual({ error: expect.stringMatching(/^Phase 1: the failure threshold/) });
    expect(describePhase({ percent: 10, count: 0, manual: false, startMs: new Date(2030, 0, 2, 3, 4).getTime(), maxFailures: { count: 2 } }, 0, false)).toBe(
      `10% of the devices, starts at ${new Date(2030, 0, 2, 3, 4).toLocaleString()}, halts above 2 failed`,
    );
  });
  it('says what is wrong', () => {
    expect(toRolloutOptions({ ...defaultPlan(), phases: [{ size: '0', unit: 'percent', start: 'auto' }] })).toEqual({ error: expect.stringMatching(/^Phase 1: the size/) });
    expect(toRolloutOptions({ ...defaultPlan(), window: { enabled: true, cron: '0 2 *', hours: '2', timeZone: '' } })).toEqual({ error: expect.stringMatching(/5 fields/) });
    expect(toRolloutOptions({ ...defaultPlan(), maxFailures: '120' })).toEqual({ error: expect.stringMatching(/failure threshold/) });
  });
  it('describes phases and windows', () => {
    expect(describePhase({ percent: 10, count: 0, manual: false, startMs: 0 }, 0, false)).toBe('10% of the devices, starts at once');
    expect(describePhase({ percent: 0, count: 3, manual: true, startMs: 0 }, 1, false)).toBe('3 devices, starts on Continue');
    expect(describePhase({ percent: 50, count: 0, manual: false, startMs: 0 }, 2, true)).toBe('the remaining devices, starts when phase 2 succeeded');
    expect(describeWindow({ cron: '0 2 * * *', durationMs: 7_200_000, timeZone: '' })).toBe('“0 2 * * *” (UTC), 2 h long');
  });
});
