import { seal, unseal } from './hmac-seal';

// Device tokens: `v1.<device id>.<expiry ms>` sealed with the hub secret.
// Short-lived by design: a device re-enrolls (proving its key again) to get a
// new one, which is also where a rejection takes effect.

const PURPOSE = 'device-token-v1';

export function issueDeviceToken(secret: Buffer, deviceId: string, ttlMs: number, now = Date.now()): { token: string; expiresMs: number } {
  const expiresMs = now + ttlMs;
  return { token: seal(secret, PURPOSE, `v1.${deviceId}.${expiresMs}`), expiresMs };
}

export type DeviceTokenCheck = { ok: true; deviceId: string } | { ok: false; reason: string };

export function checkDeviceToken(secret: Buffer, token: string | undefined, now = Date.now()): DeviceTokenCheck {
  if (!token) return { ok: false, reason: 'no device token: send "authorization: Bearer <token>" from Enroll' };
  const body = unseal(secret, PURPOSE, token);
  const parts = body?.split('.');
  if (!parts || parts.length !== 3 || parts[0] !== 'v1') return { ok: false, reason: 'device token is not valid for this hub: enroll again' };
  if (!(Number(parts[2]) > now)) return { ok: false, reason: 'token expired: enroll again' };
  return { ok: true, deviceId: parts[1] };
}
