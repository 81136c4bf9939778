// manifest.sig: {"algorithm":"ed25519","keyId":"<hex>","signature":"<base64>"}
// over the exact bytes of manifest.json. The checks here run on raw bytes,
// before the manifest is parsed.
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ArtifactError } from './errors';
import { keyIdOf, loadPrivateKey, loadPublicKey, type PrivateKeyInput, type PublicKeyInput } from './keys';

export interface ManifestSignature {
  algorithm: 'ed25519';
  keyId: string;
  signature: string; // base64 of the 64-byte ed25519 signature
}

export function signManifest(manifestBytes: Buffer, privateKey: PrivateKeyInput): ManifestSignature {
  const key = loadPrivateKey(privateKey);
  return {
    algorithm: 'ed25519',
    keyId: keyIdOf(createPublicKey(key)),
    signature: sign(null, manifestBytes, key).toString('base64'),
  };
}

export function serializeSignature(sig: ManifestSignature): Buffer {
  return Buffer.from(JSON.stringify(sig) + '\n');
}

export function parseSignature(bytes: Buffer): ManifestSignature {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ArtifactError('malformed', 'manifest.sig is not valid JSON');
  }
  const s = json as Partial<ManifestSignature> | null;
  if (typeof s !== 'object' || s === null || s.algorithm !== 'ed25519') throw new ArtifactError('malformed', 'manifest.sig: algorithm must be ed25519');
  if (typeof s.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(s.keyId)) throw new ArtifactError('malformed', 'manifest.sig: keyId must be 64 lowercase hex digits');
  if (typeof s.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(s.signature)) throw new ArtifactError('malformed', 'manifest.sig: signature must be 64 bytes in base64');
  const sig: ManifestSignature = { algorithm: 'ed25519', keyId: s.keyId, signature: s.signature };
  // Only the canonical form is accepted, so no byte of an artifact can change
  // without the artifact being refused (base64 and JSON both have slack).
  if (!serializeSignature(sig).equals(bytes) || Buffer.from(sig.signature, 'base64').toString('base64') !== sig.signature) {
    throw new ArtifactError('malformed', 'manifest.sig is not in canonical form');
  }
  return sig;
}

/** Trusted keys indexed by key id. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

export function trustedKeySet(keys: readonly PublicKeyInput[]): TrustedKeys {
  const map = new Map<string, KeyObject>();
  for (const k of keys) {
    const key = loadPublicKey(k);
    map.set(keyIdOf(key), key);
  }
  return map;
}

/** Throws untrusted-key or bad-signature; returns the key id on success. */
export function verifyManifestSignature(manifestBytes: Buffer, sig: ManifestSignature, trusted: TrustedKeys): string {
  const key = trusted.get(sig.keyId);
  if (!key) {
    const known = trusted.size === 0 ? 'no key is trusted' : `trusted: ${[...trusted.keys()].map((k) => k.slice(0, 16)).join(', ')}`;
    throw new ArtifactError('untrusted-key', `manifest is signed by key ${sig.keyId.slice(0, 16)}…, which is not trusted (${known})`);
  }
  if (!verify(null, manifestBytes, key, Buffer.from(sig.signature, 'base64'))) {
    throw new ArtifactError('bad-signature', `signature by key ${sig.keyId.slice(0, 16)}… does not match the manifest bytes (manifest or signature altered)`);
  }
  return sig.keyId;
}
