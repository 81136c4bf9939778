import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateIdentityKey, signWithIdentity } from './identity-key';

describe('identity key', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-key-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is made on first start as a 0600 PKCS8 PEM ed25519 key and reused later', async () => {
    const stateDir = join(tempDir(), 'nested', 'state');
    const first = await loadOrCreateIdentityKey(stateDir);
    expect(first.created).toBe(true);
    expect(first.publicKey).toHaveLength(32);
    const path = join(stateDir, 'identity.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    // No temporary file left behind by the atomic write.
    expect(readdirSync(stateDir)).toEqual(['identity.key']);

    const second = await loadOrCreateIdentityKey(stateDir);
    expect(second.created).toBe(false);
    expect(second.publicKey.equals(first.publicKey)).toBe(true);
  });

  it('signs so that the raw public key verifies', async () => {
    const key = await loadOrCreateIdentityKey(tempDir());
    const payload = Buffer.from('fleet-enroll-v1\nnonce');
    const sig = signWithIdentity(key, payload);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, payload, pub, sig)).toBe(true);
    expect(verify(null, Buffer.from('other'), pub, sig)).toBe(false);
  });

  it('reads a saved key (fast seed import) as exactly the key OpenSSL decodes, and refuses a non-ed25519 key', async () => {
    const dir = tempDir();
    await loadOrCreateIdentityKey(dir);
    const pem = readFileSync(join(dir, 'identity.key'), 'utf8');
    const loaded = await loadOrCreateIdentityKey(dir);
    const payload = Buffer.from('same key, same signature');
    // ed25519 signatures are deterministic: equal signatures mean equal keys.
    expect(signWithIdentity(loaded, payload).equals(sign(null, payload, createPrivateKey(pem)))).toBe(true);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(join(dir, 'identity.key'), ec, { mode: 0o600 });
    await expect(loadOrCreateIdentityKey(dir)).rejects.toThrow(/is ec, expected ed25519/);
  });

  it('refuses a corrupt key file instead of silently making a new identity', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'identity.key'), 'garbage', { mode: 0o600 });
    await expect(loadOrCreateIdentityKey(dir)).rejects.toThrow(/identity\.key is not a valid PKCS8 PEM key/);
    expect(readFileSync(join(dir, 'identity.key'), 'utf8')).toBe('garbage');
  });
});
