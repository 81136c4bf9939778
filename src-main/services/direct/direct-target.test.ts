import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectError } from './direct-error';
import { describeTarget, loginCredentials, validateDirectTarget } from './direct-target';
import { opensshKeyPair } from './test-keys';

const pem = opensshKeyPair().private;
const encrypted = opensshKeyPair('secret').private;
const dir = mkdtempSync(join(tmpdir(), 'direct-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(input: unknown): string {
  try {
    validateDirectTarget(input);
  } catch (err) {
    expect(err).toBeInstanceOf(DirectError);
    expect((err as DirectError).code).toBe('invalid-target');
    return (err as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

describe('validateDirectTarget', () => {
  it('normalises valid settings (port 22 by default, IPv6 brackets, trimmed)', () => {
    expect(validateDirectTarget({ deviceId: 'd1', host: ' 10.0.0.5 ', username: 'root', auth: { kind: 'password', password: 'pw' } })).toEqual({
      deviceId: 'd1',
      host: '10.0.0.5',
      port: 22,
      username: 'root',
      auth: { kind: 'password', password: 'pw' },
    });
    const v6 = validateDirectTarget({ deviceId: 'd1', host: '[fe80::1]', port: '2222', username: 'pi', auth: { kind: 'key', privateKey: pem } });
    expect(v6).toMatchObject({ host: 'fe80::1', port: 2222 });
    expect(describeTarget(v6)).toBe('pi@[fe80::1]:2222');
  });

  it('lists every problem at once', () => {
    const msg = problems({ host: 'bad host!', port: 70000, username: 'a b', auth: { kind: 'key' } });
    expect(msg).toMatch(/deviceId is required/);
    expect(msg).toMatch(/host "bad host!" is neither an IP address nor a valid host name/);
    expect(msg).toMatch(/port 70000 must be a whole number from 1 to 65535/);
    expect(msg).toMatch(/username "a b" is not a valid login name/);
    expect(msg).toMatch(/exactly one of privateKey .* or keyFile/);
  });

  it('refuses unusable keys and auth kinds with the reason', () => {
    const base = { deviceId: 'd', host: 'dev.local', username: 'root' };
    expect(problems({ ...base, auth: { kind: 'key', privateKey: 'not a key' } })).toMatch(/not a usable private key/);
    expect(problems({ ...base, auth: { kind: 'key', privateKey: encrypted } })).toMatch(/encrypted: give its passphrase/);
    expect(validateDirectTarget({ ...base, auth: { kind: 'key', privateKey: encrypted, passphrase: 'secret' } }).auth).toMatchObject({ passphrase: 'secret' });
    expect(problems({ ...base, auth: { kind: 'password', password: '' } })).toMatch(/non-empty password/);
    expect(problems({ ...base, auth: { kind: 'kerberos' } })).toMatch(/must be "key" or "password"/);
    expect(problems({ ...base })).toMatch(/auth is required/);
  });
});

describe('loginCredentials', () => {
  it('reads a key file at connect time and explains a missing one', () => {
    const file = join(dir, 'id');
    writeFileSync(file, pem);
    const t = validateDirectTarget({ deviceId: 'd', host: 'h', username: 'u', auth: { kind: 'key', keyFile: file } });
    expect(loginCredentials(t)).toEqual({ privateKey: pem, passphrase: undefined });
    rmSync(file);
    expect(() => loginCredentials(t)).toThrow(/cannot read the SSH key file .*\/id for device d: .*check the path/);
    writeFileSync(file, 'garbage');
    expect(() => loginCredentials(t)).toThrow(/cannot be used: not a usable private key/);
  });
});
