import { randomBytes } from 'node:crypto';
import { seal, unseal } from './hmac-seal';

// Enrollment nonces are stateless: the expiry and randomness are sealed with
// the hub secret, so any nonce the hub did not issue, or that is past its
// expiry, is refused without the hub remembering what it handed out.

export const NONCE_TTL_MS = 2 * 60_000;
const PURPOSE = 'enroll-nonce-v1';

export function issueNonce(secret: Buffer, now = Date.now(), ttlMs = NONCE_TTL_MS): { nonce: string; expiresMs: number } {
  const expiresMs = now + ttlMs;
  return { nonce: seal(secret, PURPOSE, `${expiresMs}.${randomBytes(16).toString('base64url')}`), expiresMs };
}

export type NonceCheck = 'ok' | 'forged' | 'expired';

export function checkNonce(secret: Buffer, nonce: string, now = Date.now()): NonceCheck {
  const body = unseal(secret, PURPOSE, nonce);
  if (!body) return 'forged';
  const expiresMs = Number(body.split('.')[0]);
  return Number.isFinite(expiresMs) && expiresMs > now ? 'ok' : 'expired';
}
