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

/** Loads stateDir/identity.key, or makes and stores a new key if there is none. */
export async function loadOrCreateIdentityKey(stateDir: string): Promise<IdentityKey> {
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
      privateKey = createPrivateKey(pem);
    } catch (err) {
      throw new Error(`identity key ${path} is not a valid PKCS8 PEM key (${(err as Error).message}); move it away to make a new identity (the hub will see a new device)`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`identity key ${path} is ${privateKey.asymmetricKeyType}, expected ed25519`);
    return { privateKey, publicKey: rawPublicKey(privateKey), created: false };
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFileAtomic(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  return { privateKey, publicKey: rawPublicKey(privateKey), created: true };
}

export function signWithIdentity(key: IdentityKey, payload: Uint8Array): Buffer {
  return sign(null, payload, key.privateKey);
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  // The JWK form carries the raw key bytes base64url-encoded in `x`.
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}
