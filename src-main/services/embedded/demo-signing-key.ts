import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, keyIdOf, loadPrivateKey, loadPublicKey } from '../../../artifact';

// The embedded demo fleet's artifact signing key: made once in the console's
// data folder and kept, so artifacts signed at one start still install after
// the next. The hub trusts its public key (DATA/trusted-keys/) and so do the
// simulated devices, which is what lets a newcomer deploy at once.

export interface DemoSigningKey {
  /** PKCS8 PEM */
  privateKeyPem: string;
  /** SPKI PEM */
  publicKeyPem: string;
  keyId: string;
  /** where the pair lives: <dir>/demo-signing.key and .pub (fleet-artifact --key accepts the .key) */
  keyFile: string;
  publicKeyFile: string;
}

export function ensureDemoSigningKey(dir: string): DemoSigningKey {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'demo-signing.key');
  const publicKeyFile = join(dir, 'demo-signing.pub');
  if (!existsSync(keyFile)) {
    const pair = generateSigningKey();
    // The private key lands under its final name only when complete.
    writeFileSync(`${keyFile}.tmp`, pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(publicKeyFile, pair.publicKeyPem, { mode: 0o644 });
    renameSync(`${keyFile}.tmp`, keyFile);
  }
  const privateKeyPem = readFileSync(keyFile, 'utf8');
  let privateKey;
  try {
    privateKey = loadPrivateKey(privateKeyPem);
  } catch (err) {
    throw new Error(`the demo signing key ${keyFile} is damaged (${(err as Error).message}); delete it and start again to make a new one`);
  }
  // The public half is always derived from the private key, so a stale .pub cannot mislead.
  const publicKeyPem = loadPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string;
  if (!existsSync(publicKeyFile) || readFileSync(publicKeyFile, 'utf8') !== publicKeyPem) writeFileSync(publicKeyFile, publicKeyPem, { mode: 0o644 });
  return { privateKeyPem, publicKeyPem, keyId: keyIdOf(loadPublicKey(privateKey)), keyFile, publicKeyFile };
}

/** Puts the key among the hub's trusted keys (DATA/trusted-keys/<name>.pub), replacing an older copy. */
export function trustOnHub(hubDataDir: string, publicKeyPem: string, name = 'console-demo'): string {
  const dir = join(hubDataDir, 'trusted-keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${name}.pub`);
  if (!existsSync(file) || readFileSync(file, 'utf8') !== publicKeyPem) writeFileSync(file, publicKeyPem, { mode: 0o644 });
  return file;
}
