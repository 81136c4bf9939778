import { describe, expect, it } from 'vitest';
import { duration, formatProgress } from './transfer-progress';

describe('cp progress line', () => {
  it('shows bytes, percent, speed and ETA', () => {
    const line = formatProgress({ name: 'img.bin', done: 256 * 1024 * 1024, total: 1024 * 1024 * 1024, moved: 256 * 1024 * 1024, elapsedMs: 2000 });
    expect(line).toBe('img.bin   25%  256 MiB / 1.0 GiB  134.2 MB/s  ETA 0:06');
  });

  it('measures the speed of this run only (a resumed prefix is not fast)', () => {
    const line = formatProgress({ name: 'f', done: 900_000, total: 1_000_000, moved: 100_000, elapsedMs: 1000 });
    expect(line).toContain('0.1 MB/s  ETA 0:01');
    expect(formatProgress({ name: 'f', done: 0, total: 10, moved: 0, elapsedMs: 0 })).toContain('ETA --:--');
    expect(formatProgress({ name: 'f', done: 0, total: 0, moved: 0, elapsedMs: 5 })).toContain('100%');
  });

  it('writes durations as m:ss or h:mm:ss', () => {
    expect(duration(65)).toBe('1:05');
    expect(duration(3700)).toBe('1:01:40');
    expect(duration(0.2)).toBe('0:01');
  });
});
