import { expect, it } from 'vitest';
import { parseByteSize } from './byte-size';

it('reads binary sizes and refuses nonsense, naming the flag', () => {
  expect(parseByteSize('32MiB', '--recording-max')).toBe(32 * 1024 * 1024);
  expect(parseByteSize('512k', '--x')).toBe(512 * 1024);
  expect(parseByteSize('1.5G', '--x')).toBe(1.5 * 1024 ** 3);
  expect(parseByteSize('4096', '--x')).toBe(4096);
  expect(() => parseByteSize('lots', '--recording-max')).toThrow('--recording-max must be a size like 32MiB');
  expect(() => parseByteSize('10TB', '--x')).toThrow(/must be a size/);
  expect(() => parseByteSize('100', '--x')).toThrow('at least 1KiB');
});
