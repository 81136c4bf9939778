import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceCache } from '../cache/device-cache';
import { HostKeyStore, hostKeyFingerprint, presentedHostKey } from './host-key-store';
import { opensshKeyPair } from './test-keys';

const dir = mkdtempSync(join(tmpdir(), 'host-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh ed25519 public key as the SSH wire blob a server presents, plus its OpenSSH text. */
function hostKey(): { blob: Buffer; line: string } {
  const parsed = ssh2.utils.parseKey(opensshKeyPair().public);
  if (parsed instanceof Error) throw parsed;
  const blob = parsed.getPublicSSH();
  return { blob, line: `ssh-ed25519 ${blob.toString('base64')}` };
}

describe('host key fingerprints', () => {
  it('match ssh-keygen -l', () => {
    const { blob, line } = hostKey();
    const file = join(dir, 'k.pub');
    writeFileSync(file, `${line} test\n`);
    const keygen = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1];
    expect(hostKeyFingerprint(blob)).toBe(keygen);
    expect(presentedHostKey(blob).algorithm).toBe('ssh-ed25519');
  });
});

describe('HostKeyStore', () => {
  it('trusts on first use, accepts the same key, refuses a changed one until explicitly trusted', () => {
    const store = HostKeyStore.open(join(dir, 'tofu.db'));
    const a = hostKey();
    const b = hostKey();
    expect(store.check('Device.LAN', 22, a.blob, 1000)).toMatchObject({ status: 'first-use', known: { host: 'device.lan', firstSeenMs: 1000 } });
    expect(store.check('device.lan', 22, a.blob, 2000)).toMatchObject({ status: 'trusted', known: { firstSeenMs: 1000, lastSeenMs: 2000 } });
    // Another port of the same host is another server.
    expect(store.check('device.lan', 2222, b.blob).status).toBe('first-use');
    const changed = store.check('device.lan', 22, b.blob, 3000);
    expect(changed).toMatchObject({ status: 'changed', known: { fingerprint: hostKeyFingerprint(a.blob) }, presented: { fingerprint: hostKeyFingerprint(b.blob) } });
    expect(store.check('device.lan', 22, b.blob).status).toBe('changed');
    store.trust('device.lan', 22, presentedHostKey(b.blob), 4000);
    expect(store.check('device.lan', 22, b.blob).status).toBe('trusted');
    expect(store.check('device.lan', 22, a.blob).status).toBe('changed');
    expect(() => store.trust('device.lan', 22, { algorithm: 'ssh-ed25519', fingerprint: 'MD5:aa' })).toThrow(/not a SHA256 host key fingerprint/);
    expect(store.list().map((k) => `${k.host}:${k.port}`)).toEqual(['device.lan:22', 'device.lan:2222']);
    expect(store.forget('device.lan', 22)).toBe(true);
    expect(store.check('device.lan', 22, a.blob).status).toBe('first-use');
    store.close();
  });

  it('lives in the console cache file beside the device tables and survives reopening', () => {
    const file = join(dir, 'cache.db');
    const cache = new DeviceCache(file);
    const store = HostKeyStore.open(file);
    const k = hostKey();
    store.check('10.0.0.9', 22, k.blob);
    store.close();
    cache.close();
    const again = HostKeyStore.open(file);
    expect(again.get('10.0.0.9', 22)?.fingerprint).toBe(hostKeyFingerprint(k.blob));
    again.close();
    const db = new Database(file);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'host_keys'").pluck().get()).toBe('host_keys');
    db.close();
  });
});
