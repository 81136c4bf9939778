import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write';

// The device's ed25519 identity: made once on the device, never leaves it.
// The hub knows the device by the raw public key.

export const IDENTITY_KEY_FILE = 'identity.key';

export interface IdentityKey {
  privateKey: KeyObject;
  /** Raw 32-byte ed25519 public key, as the hub stores it. */
  publicKey: Buffer;
  /** True when this call made the key (first start). */
  created: boolean;
}

/** Loads stateDir/identity.key, or makes and stores a new key if there is none (fsynced unless `durable` is false). */
export async function loadOrCreateIdentityKey(stateDir: string, { durable = true } = {}): Promise<IdentityKey> {
  const path = join(stateDir, IDENTITY_KEY_FILE);
  let pem: string | undefined;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read identity key ${path}: ${(err as Error).message}`);
  }
  if (pem !== undefined) {
    let privateKey: KeyObject;
    try {
      privateKey = fastEd25519Key(pem) ?? createPrivateKey(pem);
    } catch (err) {
      throw new Error(`identity key ${path} is not a valid PKCS8 PEM key (${(err as Error).message}); move it away to make a new identity (the hub will see a new device)`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`identity key ${path} is ${privateKey.asymmetricKeyType}, expected ed25519`);
    return { privateKey, publicKey: rawPublicKey(privateKey), created: false };
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFileAtomic(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600, { durable });
  return { privateKey, publicKey: rawPublicKey(privateKey), created: true };
}

export function signWithIdentity(key: IdentityKey, payload: Uint8Array): Buffer {
  return sign(null, payload, key.privateKey);
}

/** The fixed PKCS8 DER header of an ed25519 key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const PEM_BODY = /^-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----\s*$/;

/**
 * OpenSSL 3's PEM decoder takes about 1 ms per key here; 10,000 simulated
 * devices starting at once would spend 10 s in it. An ed25519 PKCS8 key is a
 * fixed header plus the seed, so import the seed directly (as JWK, ~0.1 ms).
 * Anything else, or a Node that refuses the import, takes the full decoder.
 */
function fastEd25519Key(pem: string): KeyObject | undefined {
  const body = PEM_BODY.exec(pem)?.[1];
  if (!body) return undefined;
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (der.length !== ED25519_PKCS8_PREFIX.length + 32 || !der.subarray(0, ED25519_PKCS8_PREFIX.length).equals(ED25519_PKCS8_PREFIX)) return undefined;
  const d = der.subarray(ED25519_PKCS8_PREFIX.length).toString('base64url');
  try {
    // Node derives the public half from d; x is required by the JWK shape
    // only, and the real one is read back from the key (rawPublicKey).
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: d }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  // The JWK form carries the raw key bytes base64url-encoded in `x`.
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}
