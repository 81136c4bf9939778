import { createHash, createPublicKey, verify } from 'node:crypto';

export const ED25519_KEY_BYTES = 32;

/** Stable device id: the first 16 bytes of sha256(public key), in hex. */
export function deviceIdFromKey(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex');
}

/** True when `signature` is a valid ed25519 signature of `payload` by the raw 32-byte key. */
export function verifyEd25519(publicKey: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return verify(null, payload, key, signature);
  } catch {
    return false;
  }
}
