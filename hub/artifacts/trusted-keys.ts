// The signing keys the hub trusts: every DATA/trusted-keys/*.pub (SPKI PEM,
// as written by `fleet-artifact keygen`). Read on each upload, so adding a
// key needs no restart. A file that is not an ed25519 public key is skipped
// and reported, never silently trusted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { keyIdOf, loadPublicKey } from '../../artifact';

export interface TrustedKeyFiles {
  keys: KeyObject[];
  keyIds: string[];
  /** "file: reason" for each .pub file that could not be used. */
  problems: string[];
}

export function loadTrustedKeys(dir: string): TrustedKeyFiles {
  const out: TrustedKeyFiles = { keys: [], keyIds: [], problems: [] };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.pub')).sort();
  } catch (err) {
    out.problems.push(`${dir}: ${(err as Error).message}`);
    return out;
  }
  for (const name of names) {
    try {
      const key = loadPublicKey(readFileSync(join(dir, name), 'utf8'));
      out.keys.push(key);
      out.keyIds.push(keyIdOf(key));
    } catch (err) {
      out.problems.push(`${join(dir, name)}: ${(err as Error).message}`);
    }
  }
  return out;
}
