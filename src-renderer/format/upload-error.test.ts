import { describe, expect, it } from 'vitest';
import { explainUploadError } from './upload-error';

describe('explainUploadError', () => {
  it('explains tampering, damage and roles; stays silent otherwise', () => {
    expect(explainUploadError('the hub refused a.fleet: artifact a.fleet refused (bad-signature): signature does not match')).toMatch(/altered or damaged after it was signed/);
    expect(explainUploadError('artifact a.fleet refused (payload-hash-mismatch): payload 0')).toMatch(/does not match its signed hash/);
    expect(explainUploadError('upload truncated: got 5 of 9 bytes')).toMatch(/incomplete/);
    expect(explainUploadError('permission denied: viewer')).toMatch(/ask an admin/);
    expect(explainUploadError('something else')).toBe('');
  });
});
