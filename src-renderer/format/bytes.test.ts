import { describe, expect, it } from 'vitest';
import { formatSize, formatSpeed, percent } from './bytes';

describe('byte formats', () => {
  it('sizes in binary units', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
  it('speeds and percents', () => {
    expect(formatSpeed(2.5 * 1024 * 1024)).toBe('2.5 MiB/s');
    expect(percent(996, 1000)).toBe(99);
    expect(percent(1000, 1000)).toBe(100);
    expect(percent(5, 0)).toBe(0);
  });
});
