import { describe, expect, it } from 'vitest';
import { parseRemoteConfig } from './remote-config';

describe('parseRemoteConfig', () => {
  it('disables everything when the section is absent', () => {
    const c = parseRemoteConfig(undefined);
    expect(c.shell.enabled).toBe(false);
    expect(c.files.enabled).toBe(false);
    expect(c.portForward.enabled).toBe(false);
    expect(c.shell.idleTimeoutSeconds).toBe(600);
    expect(c.files.maxFileBytes).toBe(Infinity);
  });

  it('parses a full section', () => {
    const c = parseRemoteConfig({
      shell: { enabled: true, command: '/bin/bash', user: 'nobody', maxSessions: 5, maxSessionsPerOperator: 2, idleTimeoutSeconds: 30 },
      files: { enabled: true, roots: ['/data/', '/var/log'], maxFileBytes: 1000, bytesPerMinute: 60000, uploadOwner: 'app', uploadGroup: '100', uploadMode: '0640' },
      portForward: { enabled: true, allow: ['127.0.0.1:8080', 'LocalHost:5432', '*:80', '[::1]:22', '10.0.0.1:*'] },
    });
    expect(c.shell).toEqual({ enabled: true, command: ['/bin/bash'], user: 'nobody', maxSessions: 5, maxSessionsPerOperator: 2, idleTimeoutSeconds: 30 });
    expect(c.files.roots).toEqual(['/data', '/var/log']);
    expect(c.files.uploadMode).toBe(0o640);
    expect(c.files.allowNonRegular).toBe(false);
    expect(c.portForward.allow.map((r) => [r.host, r.port])).toEqual([
      ['127.0.0.1', 8080],
      ['localhost', 5432],
      ['*', 80],
      ['::1', 22],
      ['10.0.0.1', 0],
    ]);
  });

  it.each([
    [{ shell: 'yes' }, /remote.shell: must be an object/],
    [{ sh: {} }, /unknown field "sh"/],
    [{ shell: { enabled: 'true' } }, /remote.shell.enabled must be true or false/],
    [{ shell: { command: 'bash' } }, /command must start with an absolute program path/],
    [{ shell: { maxSessions: 0 } }, /maxSessions must be a whole number >= 1/],
    [{ shell: { maxSessions: 2, maxSessionsPerOperator: 3 } }, /cannot exceed maxSessions/],
    [{ shell: { user: 'a b' } }, /user must be a user\/group name/],
    [{ files: { enabled: true } }, /roots must list at least one folder/],
    [{ files: { roots: ['data'] } }, /roots must be a list of absolute folder paths/],
    [{ files: { uploadMode: '0999' } }, /uploadMode must be an octal string/],
    [{ files: { maxFileBytes: -1 } }, /maxFileBytes must be a whole number/],
    [{ portForward: { enabled: true, allow: [] } }, /allow must list at least one/],
    [{ portForward: { allow: ['8080'] } }, /allow\[0\] must be HOST:PORT/],
    [{ portForward: { allow: ['host:70000'] } }, /allow\[0\] must be HOST:PORT/],
    [{ portForward: { allow: ['[nothex]:1'] } }, /allow\[0\] must be HOST:PORT/],
  ])('refuses %j with a clear error', (json, msg) => {
    expect(() => parseRemoteConfig(json)).toThrow(msg);
  });
});
