import { describe, expect, it } from 'vitest';
import { nextCronTime, parseCron } from './cron';
import { MaintenanceWindow } from './maintenance-window';

const utc = (s: string) => Date.parse(`${s}Z`);
const iso = (ms: number | undefined) => (ms === undefined ? 'none' : new Date(ms).toISOString().slice(0, 16));

describe('parseCron', () => {
  it('expands numbers, ranges, steps, lists and names', () => {
    const s = parseCron('*/15 1-3,22 1,15 jan-mar mon-fri');
    expect(s.minutes).toEqual([0, 15, 30, 45]);
    expect(s.hours).toEqual([1, 2, 3, 22]);
    expect([...s.days]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron('0 0 * * 7').weekdays]).toEqual([0]);
    expect([...parseCron('0 0 * * *').weekdays].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(parseCron('5-20/5 * * * *').minutes).toEqual([5, 10, 15, 20]);
    expect(parseCron('10/20 * * * *').minutes).toEqual([10, 30, 50]);
  });

  it('refuses bad expressions and zones with a message naming the part', () => {
    expect(() => parseCron('0 2 * *')).toThrow(/has 4 fields; use 5/);
    expect(() => parseCron('60 2 * * *')).toThrow(/minute field "60" has "60" outside 0-59/);
    expect(() => parseCron('0 5-2 * * *')).toThrow(/hour field "5-2" has a range that goes backwards/);
    expect(() => parseCron('0 2 * foo *')).toThrow(/month field "foo"/);
    expect(() => parseCron('0 2 * * * ')).not.toThrow();
    expect(() => parseCron('*/0 2 * * *')).toThrow(/step below 1/);
    expect(() => parseCron('0 2 * * *', 'Mars/Olympus')).toThrow(/time zone "Mars\/Olympus" is not known/);
  });
});

describe('nextCronTime', () => {
  it('finds the next minute in UTC, strictly after the given time', () => {
    const s = parseCron('0 2 * * *');
    expect(iso(nextCronTime(s, utc('2026-11-27T01:59')))).toBe('2026-11-27T02:00');
    expect(iso(nextCronTime(s, utc('2026-11-27T02:00')))).toBe('2026-11-28T02:00');
    expect(iso(nextCronTime(parseCron('30 4 29 2 *'), utc('2026-03-01T00:00')))).toBe('2028-02-29T04:30');
  });

  it('day of month OR day of week when both are restricted (Vixie cron)', () => {
    // 2026-11-27 is a Friday; the 1st of December a Tuesday.
    const s = parseCron('0 12 1 * sat');
    expect(iso(nextCronTime(s, utc('2026-11-27T00:00')))).toBe('2026-11-28T12:00');
    expect(iso(nextCronTime(s, utc('2026-11-28T13:00')))).toBe('2026-12-01T12:00');
  });

  it('follows a time zone through daylight saving changes', () => {
    const oslo = parseCron('0 2 * * *', 'Europe/Oslo');
    // Winter: UTC+1.
    expect(iso(nextCronTime(oslo, utc('2026-11-27T00:00')))).toBe('2026-11-27T01:00');
    // Summer: UTC+2; 00:00 UTC is 02:00 in Oslo, so the next one is a day later.
    expect(iso(nextCronTime(oslo, utc('2026-07-01T00:00')))).toBe('2026-07-02T00:00');
    // 2026-03-29 02:30 does not exist in Oslo (clocks jump 02:00 -> 03:00): skipped.
    const gap = parseCron('30 2 * * *', 'Europe/Oslo');
    expect(iso(nextCronTime(gap, utc('2026-03-28T02:00')))).toBe('2026-03-30T00:30');
    // 2026-10-25 02:30 happens twice: the first one (UTC+2) counts.
    expect(iso(nextCronTime(gap, utc('2026-10-24T23:00')))).toBe('2026-10-25T00:30');
  });
});

describe('MaintenanceWindow', () => {
  it('is open from each start for its duration and tells the next start', () => {
    const w = new MaintenanceWindow({ cron: '0 2 * * *', durationMs: 2 * 3_600_000, timeZone: 'Europe/Oslo' });
    expect(w.state(utc('2026-11-27T00:59'))).toEqual({ open: false, endsMs: 0, nextMs: utc('2026-11-27T01:00') });
    expect(w.state(utc('2026-11-27T01:00'))).toEqual({ open: true, endsMs: utc('2026-11-27T03:00'), nextMs: utc('2026-11-28T01:00') });
    expect(w.state(utc('2026-11-27T02:59')).open).toBe(true);
    expect(w.state(utc('2026-11-27T03:00'))).toEqual({ open: false, endsMs: 0, nextMs: utc('2026-11-28T01:00') });
  });

  it('merges overlapping windows and refuses silly durations', () => {
    const w = new MaintenanceWindow({ cron: '0 * * * *', durationMs: 90 * 60_000, timeZone: '' });
    expect(w.state(utc('2026-11-27T05:10'))).toMatchObject({ open: true });
    expect(() => new MaintenanceWindow({ cron: '0 2 * * *', durationMs: 1000, timeZone: '' })).toThrow(/between 1 minute and 7 days/);
  });
});
