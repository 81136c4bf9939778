import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import ssh2, { type ParsedKey } from 'ssh2';
import { DirectError } from './direct-error';

/** How the console logs in to a device over SSH. A key is given inline (PEM/OpenSSH text) or as a file path. */
export type DirectAuth =
  | { kind: 'key'; privateKey?: string; keyFile?: string; passphrase?: string }
  | { kind: 'password'; password: string };

/** A device's direct-mode settings: where its sshd listens and who logs in. */
export interface DirectTarget {
  /** the console's device id; one SSH connection is kept per device */
  deviceId: string;
  host: string;
  port: number;
  username: string;
  auth: DirectAuth;
}

/** What ssh2 needs to log in, with the key file already read and parsed. */
export type LoginCredentials = { privateKey: string; passphrase?: string } | { password: string };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const USERNAME = /^[a-z_][a-z0-9_.-]{0,63}\$?$/i;

/**
 * Checks settings coming from the UI or a settings file and returns them
 * normalised (port defaults to 22, host trimmed). Every problem is listed in
 * one error, so a form can show them all at once.
 */
export function validateDirectTarget(input: unknown): DirectTarget {
  const problems: string[] = [];
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const deviceId = typeof o.deviceId === 'string' ? o.deviceId.trim() : '';
  if (!deviceId) problems.push('deviceId is required');

  const host = typeof o.host === 'string' ? o.host.trim().replace(/^\[(.*)\]$/, '$1') : '';
  if (!host) problems.push('host is required (an IP address or a host name)');
  else if (!isIP(host) && !HOSTNAME.test(host)) problems.push(`host "${host}" is neither an IP address nor a valid host name`);

  const port = o.port === undefined || o.port === null || o.port === '' ? 22 : Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${String(o.port)} must be a whole number from 1 to 65535`);

  const username = typeof o.username === 'string' ? o.username.trim() : '';
  if (!username) problems.push('username is required');
  else if (!USERNAME.test(username)) problems.push(`username "${username}" is not a valid login name (letters, digits, "_", "-", "." only)`);

  const auth = validateAuth(o.auth, problems);
  if (problems.length > 0 || !auth) {
    throw new DirectError('invalid-target', `direct-mode settings${deviceId ? ` of device ${deviceId}` : ''} are not valid: ${problems.join('; ')}`);
  }
  return { deviceId, host, port, username, auth };
}

function validateAuth(raw: unknown, problems: string[]): DirectAuth | undefined {
  const a = (typeof raw === 'object' && raw !== null ? raw : undefined) as Record<string, unknown> | undefined;
  if (!a) {
    problems.push('auth is required: { kind: "key", privateKey | keyFile } or { kind: "password", password }');
    return undefined;
  }
  if (a.kind === 'password') {
    if (typeof a.password !== 'string' || a.password === '') {
      problems.push('password auth needs a non-empty password');
      return undefined;
    }
    return { kind: 'password', password: a.password };
  }
  if (a.kind !== 'key') {
    problems.push(`auth kind must be "key" or "password", not ${JSON.stringify(a.kind)}`);
    return undefined;
  }
  const privateKey = typeof a.privateKey === 'string' && a.privateKey.trim() ? a.privateKey : undefined;
  const keyFile = typeof a.keyFile === 'string' && a.keyFile.trim() ? a.keyFile.trim() : undefined;
  const passphrase = typeof a.passphrase === 'string' && a.passphrase !== '' ? a.passphrase : undefined;
  if (!privateKey === !keyFile) {
    problems.push('key auth needs exactly one of privateKey (the key text) or keyFile (its path)');
    return undefined;
  }
  if (privateKey) {
    const err = keyProblem(privateKey, passphrase);
    if (err) problems.push(`privateKey: ${err}`);
  }
  return { kind: 'key', privateKey, keyFile, passphrase };
}

/** Why a key text cannot be used, or undefined when it parses. */
function keyProblem(text: string, passphrase: string | undefined): string | undefined {
  const parsed = ssh2.utils.parseKey(text, passphrase) as ParsedKey | ParsedKey[] | Error;
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && !passphrase) return 'the key is encrypted: give its passphrase';
    if (/bad passphrase|decrypt/i.test(parsed.message)) return 'the passphrase does not decrypt the key';
    return `not a usable private key (${parsed.message}); use an OpenSSH or PEM private key`;
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey?.() === false) return 'this is a public key; give the private key';
  return undefined;
}

/** Reads the key file (at connect time, so a replaced key is picked up) and returns what ssh2 needs. */
export function loginCredentials(target: DirectTarget): LoginCredentials {
  const { auth } = target;
  if (auth.kind === 'password') return { password: auth.password };
  let text = auth.privateKey;
  if (!text) {
    try {
      text = readFileSync(auth.keyFile!, 'utf8');
    } catch (err) {
      throw new DirectError('key-unreadable', `cannot read the SSH key file ${auth.keyFile} for device ${target.deviceId}: ${(err as Error).message}; check the path in the device's direct-mode settings`, { cause: err });
    }
  }
  const problem = keyProblem(text, auth.passphrase);
  if (problem) throw new DirectError('key-unreadable', `the SSH key ${auth.keyFile ?? '(inline)'} for device ${target.deviceId} cannot be used: ${problem}`);
  return { privateKey: text, passphrase: auth.passphrase };
}

/** `user@host:port`, as messages name a target. */
export function describeTarget(t: Pick<DirectTarget, 'host' | 'port' | 'username'>): string {
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  return `${t.username}@${host}:${t.port}`;
}

/** True when two targets log in to the same place the same way (a pooled connection can be reused). */
export function sameLogin(a: DirectTarget, b: DirectTarget): boolean {
  return a.host === b.host && a.port === b.port && a.username === b.username && JSON.stringify(a.auth) === JSON.stringify(b.auth);
}
