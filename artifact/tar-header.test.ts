import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, type TarHeader } from './tar-header';

const base: TarHeader = { name: 'payloads/0000.gz', size: 12345, mode: 0o644, mtime: 0, type: 'file', linkname: '' };

describe('ustar headers', () => {
  it('round-trips files, directories, symlinks and long names', () => {
    const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/file.txt`;
    for (const h of [base, { ...base, name: 'dir/', size: 0, type: 'directory', mode: 0o755 }, { ...base, name: 'link', size: 0, type: 'symlink', linkname: 'target' }, { ...base, name: long, mtime: 1700000000 }] as TarHeader[]) {
      expect(decodeHeader(encodeHeader(h))).toEqual(h);
    }
  });

  it('uses base-256 for sizes of 8 GiB and more', () => {
    const size = 8 * 1024 ** 3 + 7;
    const block = encodeHeader({ ...base, size });
    expect(block[124]).toBe(0x80);
    expect(decodeHeader(block).size).toBe(size);
  });

  it('is readable by GNU tar conventions: octal fields and checksum', () => {
    const block = encodeHeader(base);
    expect(block.toString('ascii', 124, 136)).toBe('00000030071\0');
    expect(block.toString('ascii', 257, 265)).toBe('ustar\u000000');
  });

  it('refuses a bad checksum, a non-ustar block, an unsupported type, a path too long', () => {
    const block = encodeHeader(base);
    block[10] ^= 1;
    expect(() => decodeHeader(block)).toThrow(/checksum/);
    expect(() => decodeHeader(Buffer.alloc(512, 0x30))).toThrow();
    expect(() => encodeHeader({ ...base, name: 'x'.repeat(300) })).toThrow(/too long/);
  });
});
