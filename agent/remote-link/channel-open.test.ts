import { describe, expect, it } from 'vitest';
import { channelOpenFromProto } from './channel-open';

// The hub's FileOpen as RemoteSessions takes it: each op keeps only its own fields.

describe('channelOpenFromProto (file)', () => {
  it('maps mkdir with its path and mode, and nothing of the other ops', () => {
    expect(channelOpenFromProto({ kind: { $case: 'file', file: { op: 'mkdir', path: '/data/a/b', mode: 0o750, size: 3, cursor: 'x' } } })).toEqual({
      $case: 'file',
      file: { op: 'mkdir', path: '/data/a/b', mode: 0o750 },
    });
    expect(channelOpenFromProto({ kind: { $case: 'file', file: { op: 'mkdir', path: '/data/c' } } })).toEqual({ $case: 'file', file: { op: 'mkdir', path: '/data/c' } });
  });

  it('maps sha256 with its path only', () => {
    expect(channelOpenFromProto({ kind: { $case: 'file', file: { op: 'sha256', path: '/data/f', offset: 9, size: 3 } } })).toEqual({ $case: 'file', file: { op: 'sha256', path: '/data/f' } });
  });

  it('refuses an unknown op with protocol, naming the ones it knows', () => {
    expect(() => channelOpenFromProto({ kind: { $case: 'file', file: { op: 'rmdir', path: '/data/c' } } })).toThrow(
      expect.objectContaining({ code: 'protocol', message: 'unknown file operation "rmdir" (list, download, upload, mkdir or sha256)' }),
    );
  });
});
