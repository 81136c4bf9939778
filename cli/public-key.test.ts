import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from './public-key';

const dir = mkdtempSync(join(tmpdir(), 'fleetctl-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('parsePublicKey', () => {
  it('reads 64 hex digits in any case', () => {
    expect(parsePublicKey(raw.toString('hex'))).toEqual(raw);
    expect(parsePublicKey(` ${raw.toString('hex').toUpperCase()}\n`)).toEqual(raw);
  });

  it('reads base64 of the 32 raw bytes, padded or not, and base64url', () => {
    expect(parsePublicKey(raw.toString('base64'))).toEqual(raw);
    expect(parsePublicKey(raw.toString('base64').replace(/=$/, ''))).toEqual(raw);
    expect(parsePublicKey(raw.toString('base64url'))).toEqual(raw);
  });

  it('extracts the raw key from an SPKI PEM file', () => {
    const path = file('device.pub.pem', publicKey.export({ format: 'pem', type: 'spki' }) as string);
    expect(parsePublicKey(path)).toEqual(raw);
  });

  it('refuses private keys, other key types and junk files', () => {
    expect(() => parsePublicKey(file('device.key', privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))).toThrow(/holds a private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(() => parsePublicKey(file('rsa.pem', rsa))).toThrow(/holds a rsa key; devices use ed25519/);
    expect(() => parsePublicKey(file('junk.pem', 'hello'))).toThrow(/is not a PEM public key/);
  });

  it('refuses text that is neither', () => {
    for (const bad of [raw.toString('hex').slice(2), 'zz'.repeat(32), Buffer.alloc(31).toString('base64'), '/no/such/file.pem']) {
      expect(() => parsePublicKey(bad)).toThrow(/is neither 64 hex digits, base64 of 32 bytes, nor a PEM public key file/);
    }
  });
});
