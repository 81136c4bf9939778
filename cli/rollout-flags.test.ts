import { describe, expect, it } from 'vitest';
import { parseArgs } from './args';
import { parseDuration, parseThreshold, phaseSizes, rolloutOptions } from './rollout-flags';

const FLAGS = { phase: 'list', 'phase-start': 'list', 'phase-success': 'list', 'phase-max-failures': 'list', 'pause-before': 'list', window: 'string', 'window-length': 'string', tz: 'string', 'max-failures': 'string', retries: 'string', 'max-devices': 'string', 'dynamic-group': 'string' } as const;
const options = (line: string[]) => rolloutOptions(parseArgs(line, FLAGS));

describe('phaseSizes', () => {
  it('turns cumulative targets into each phase’s own share, the last taking the rest', () => {
    expect(phaseSizes(['10%', '50%', '100%'])).toEqual([{ percent: 10 }, { percent: 40 }, { percent: 100 }]);
    expect(phaseSizes(['5', '25', 'all'])).toEqual([{ count: 5 }, { count: 20 }, { percent: 100 }]);
    expect(phaseSizes(['100%'])).toEqual([{ percent: 100 }]);
  });

  it('refuses targets that do not grow, mix kinds, or do not end with everyone', () => {
    expect(() => phaseSizes(['10%', '50%'])).toThrow('the last --phase must be 100%');
    expect(() => phaseSizes(['50%', '10%', '100%'])).toThrow('cumulative and must grow: phase 2 (10%) is not more than phase 1 (50%)');
    expect(() => phaseSizes(['10%', '20', '100%'])).toThrow('all be percents or all be counts');
    expect(() => phaseSizes(['0%', '100%'])).toThrow('between 1% and 100%');
    expect(() => phaseSizes(['ten', '100%'])).toThrow('--phase must be a percent (10%), a device count (25) or "all", got "ten"');
  });
});

describe('rolloutOptions', () => {
  it('is undefined without rollout flags', () => {
    expect(options([])).toBeUndefined();
  });

  it('builds the hub’s RolloutOptions from every flag', () => {
    const o = options([
      '--phase', '10%', '--phase', '50%', '--phase', '100%',
      '--phase-start', 'auto', '--phase-start', 'manual', '--phase-start', '2026-12-01T02:00:00Z',
      '--phase-success', '90%', '--phase-success', '-', '--phase-success', '-',
      '--phase-max-failures', '1', '--phase-max-failures', '10%', '--phase-max-failures', 'none',
      '--pause-before', 'reboot', '--pause-before', 'install',
      '--window', ' 0 2  * * *', '--window-length', '1h30m', '--tz', 'Europe/Oslo',
      '--max-failures', '5%', '--retries', '2', '--dynamic-group', 'pis', '--max-devices', '50',
    ]);
    expect(o).toEqual({
      phases: [
        { percent: 10, count: 0, startMs: 0, manual: false, successPercent: 90, maxFailures: { count: 1, percent: 0 } },
        { percent: 40, count: 0, startMs: 0, manual: true, successPercent: 0, maxFailures: { count: 0, percent: 10 } },
        { percent: 100, count: 0, startMs: Date.parse('2026-12-01T02:00:00Z'), manual: false, successPercent: 0, maxFailures: { count: 0, percent: 0 } },
      ],
      pauseBefore: ['install', 'reboot'],
      window: { cron: '0 2 * * *', durationMs: 90 * 60_000, timeZone: 'Europe/Oslo' },
      maxFailures: { count: 0, percent: 5 },
      retries: 2,
      dynamicGroup: 'pis',
      maxDevices: 50,
    });
  });

  it('refuses bad values with what to write instead', () => {
    expect(() => options(['--phase', '10%', '--phase', '100%', '--phase-start', 'manual'])).toThrow('--phase-start is given once per --phase, in order: 2 phases but 1 --phase-start');
    expect(() => options(['--phase', '100%', '--phase-start', 'tomorrow'])).toThrow('--phase-start must be auto, manual or an ISO time');
    expect(() => options(['--pause-before', 'download'])).toThrow('--pause-before must be install, reboot or commit, got "download"');
    expect(() => options(['--window', '0 2 * * *'])).toThrow('--window needs --window-length');
    expect(() => options(['--tz', 'UTC'])).toThrow('give --window "CRON" too');
    expect(() => options(['--window', '0 2 * * *', '--window-length', '2h', '--tz', 'Mars/Olympus'])).toThrow('--tz must be an IANA time zone');
    expect(() => options(['--window', '0 2 * * *', '--window-length', '8d'])).toThrow('between 1m and 7d');
    expect(() => options(['--max-devices', '5'])).toThrow('give --dynamic-group too');
    expect(() => options(['--retries', '-1'])).toThrow('--retries must be a whole number');
  });
});

describe('parseThreshold and parseDuration', () => {
  it('reads percents, counts and durations', () => {
    expect(parseThreshold('max-failures', '5%')).toEqual({ count: 0, percent: 5 });
    expect(parseThreshold('max-failures', '3')).toEqual({ count: 3, percent: 0 });
    expect(() => parseThreshold('max-failures', '150%')).toThrow('--max-failures must be a percent (5%) or a count');
    expect(parseDuration('window-length', '2h')).toBe(7_200_000);
    expect(parseDuration('window-length', '1d2h')).toBe(26 * 3_600_000);
    expect(() => parseDuration('window-length', '2 hours')).toThrow('like 90m, 2h or 1h30m');
  });
});
