import { createHmac, timingSafeEqual } from 'node:crypto';

// Seals a short text with the hub secret so the hub can later trust it without
// storing it (enrollment nonces, device tokens). `purpose` separates the uses:
// a nonce can never be replayed as a token.

export function seal(secret: Buffer, purpose: string, body: string): string {
  return `${body}.${mac(secret, purpose, body)}`;
}

/** The body when the seal is authentic, else undefined. */
export function unseal(secret: Buffer, purpose: string, sealed: string): string | undefined {
  const dot = sealed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const body = sealed.slice(0, dot);
  const given = Buffer.from(sealed.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(secret, purpose, body), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? body : undefined;
}

function mac(secret: Buffer, purpose: string, body: string): string {
  return createHmac('sha256', secret).update(`${purpose}\n${body}`).digest('base64url');
}
