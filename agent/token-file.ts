import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

// The device token kept between runs in stateDir/token (0600), so a restarted
// agent (or a whole fleet after an outage) reconnects with one Connect call
// instead of Challenge + Enroll + Connect. Like Mender's stored auth token.
//
// Security: the file sits beside identity.key (also 0600), which can mint a
// token at any time by enrolling; whoever can read one can read the other, so
// the file adds no new exposure. The token stays short-lived and the hub
// still refuses it once the device is no longer accepted. It is bound to the
// fingerprint of the hub certificate it was issued under, so it is never
// presented to another hub.
//
// It is a cache: written without fsync, and a missing, torn or foreign file
// only costs one enrollment.

export const TOKEN_FILE = 'token';

export interface StoredToken {
  token: string;
  /** Hub wall clock, as told in EnrollResponse.token_expires_ms. */
  expiresMs: number;
  /** When the agent planned to refresh it (75 % of its life). */
  refreshAtMs: number;
  /** Fingerprint of the hub certificate the token came from. */
  hub: string;
}

/** The saved token when it belongs to `hub` and has at least `minLifeMs` left. */
export async function readToken(stateDir: string, hub: string, minLifeMs: number, now = Date.now()): Promise<StoredToken | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, TOKEN_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let saved: Partial<StoredToken>;
  try {
    saved = JSON.parse(text);
  } catch {
    return undefined;
  }
  const valid =
    typeof saved.token === 'string' &&
    saved.token.length > 0 &&
    typeof saved.expiresMs === 'number' &&
    typeof saved.refreshAtMs === 'number' &&
    saved.hub === hub &&
    saved.expiresMs - now >= minLifeMs;
  return valid ? (saved as StoredToken) : undefined;
}

/** Replaces the saved token (temp file + rename: never half-written). */
export async function writeToken(stateDir: string, token: StoredToken): Promise<void> {
  const path = join(stateDir, TOKEN_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(token));
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

export async function removeToken(stateDir: string): Promise<void> {
  await unlink(join(stateDir, TOKEN_FILE)).catch(() => undefined);
}
