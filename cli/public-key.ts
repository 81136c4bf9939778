import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from './cli-error';

// A device's ed25519 public key as operators have it at hand: 64 hex digits,
// base64 of the raw 32 bytes (as factory tools print it), or a PEM file
// (SPKI, as `openssl pkey -pubout` writes it). The hub wants the raw 32 bytes.

export function parsePublicKey(input: string): Buffer {
  const text = input.trim();
  if (existsSync(text)) return readPemPublicKey(text);
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const raw = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
    if (raw.length === 32) return raw;
  }
  throw new UsageError(`--key "${input}" is neither 64 hex digits, base64 of 32 bytes, nor a PEM public key file`);
}

function readPemPublicKey(file: string): Buffer {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (/PRIVATE KEY-----/.test(pem)) throw new UsageError(`${file} holds a private key: pass the device's public key (openssl pkey -pubout)`);
  let key;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new UsageError(`${file} is not a PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${file} holds a ${key.asymmetricKeyType} key; devices use ed25519`);
  // The JWK `x` member is exactly the raw 32-byte ed25519 public key.
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}
