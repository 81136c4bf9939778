import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from './version';

describe('compareVersions', () => {
  it.each([
    ['1.10.0', '1.9.3', 1],
    ['1.2', '1.2.0', 0],
    ['2', '10', -1],
    ['1.0.0-rc.1', '1.0.0', -1],
    ['1.0.0-rc.2', '1.0.0-rc.10', -1],
    ['1.0.0-alpha', '1.0.0-1', 1],
    ['1.0.0+build.5', '1.0.0+build.9', 0],
    ['1.2.3.4', '1.2.3', 1],
  ])('%s vs %s is %i', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    expect(compareVersions(b, a)).toBe(-want || 0);
  });

  it('rejects what is not a version', () => {
    for (const v of ['', 'v1', '1..2', '1.2.3.4.5', '1.0-', 'latest']) expect(isValidVersion(v)).toBe(false);
    expect(() => compareVersions('x', '1')).toThrow(/not a valid version/);
  });
});
