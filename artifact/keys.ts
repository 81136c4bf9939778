// ed25519 signing keys: generation, PEM loading, and the key id (sha256 of
// the 32 raw public key bytes, hex) that names a key in manifest.sig.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ArtifactError } from './errors';

export interface SigningKeyPair {
  privateKeyPem: string; // PKCS8
  publicKeyPem: string; // SPKI
  keyId: string;
}

export function generateSigningKey(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyId: keyIdOf(publicKey),
  };
}

function rawPublicKey(key: KeyObject): Buffer {
  // The last 32 bytes of the SPKI DER of an ed25519 key are the raw key.
  return (key.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex');
}

export type PrivateKeyInput = KeyObject | string; // KeyObject or PKCS8 PEM
export type PublicKeyInput = KeyObject | string; // KeyObject or SPKI PEM

export function loadPrivateKey(key: PrivateKeyInput): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch (err) {
    throw new ArtifactError('malformed', `not a private key in PEM form (${(err as Error).message})`);
  }
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') throw new ArtifactError('malformed', `signing key must be an ed25519 private key (got ${k.asymmetricKeyType} ${k.type})`);
  return k;
}

export function loadPublicKey(key: PublicKeyInput): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPublicKey(key) : key;
  } catch (err) {
    throw new ArtifactError('malformed', `not a public key in PEM form (${(err as Error).message})`);
  }
  if (k.type === 'private') k = createPublicKey(k);
  if (k.asymmetricKeyType !== 'ed25519') throw new ArtifactError('malformed', `trusted key must be ed25519 (got ${k.asymmetricKeyType})`);
  return k;
}
