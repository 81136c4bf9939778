import { describe, expect, it } from 'vitest';
import { lastSeenText, relativeTime } from './relative-time';

const now = Date.UTC(2025, 5, 1, 12, 0, 0);

describe('lastSeenText', () => {
  it('says "online now" for an online device whatever its timestamp', () => {
    expect(lastSeenText(true, 0, now)).toBe('online now');
  });
  it('says "never" for a device never seen', () => {
    expect(lastSeenText(false, 0, now)).toBe('never');
  });
  it('scales the unit with the age', () => {
    expect(relativeTime(now - 10_000, now)).toBe('just now');
    expect(relativeTime(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(relativeTime(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(relativeTime(now - 24 * 3600_000, now)).toBe('1 day ago');
    expect(relativeTime(now - 10 * 24 * 3600_000, now)).toBe('10 days ago');
    expect(relativeTime(Date.UTC(2024, 0, 2), now)).toBe('2024-01-02');
  });
  it('treats a clock in the future as now', () => {
    expect(relativeTime(now + 60_000, now)).toBe('just now');
  });
});
