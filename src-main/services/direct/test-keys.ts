import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Keys for tests, made by OpenSSH's ssh-keygen: ssh2's own
// utils.generateKeyPairSync('ed25519') writes a malformed key about once in
// 300 (measured with ssh2 1.17.0), which made tests flaky.

/** A fresh ed25519 key pair in OpenSSH format; `passphrase` encrypts the private key. */
export function opensshKeyPair(passphrase = ''): { private: string; public: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-test-key-'));
  try {
    const file = join(dir, 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '4', '-N', passphrase, '-C', 'fleet-test', '-f', file]);
    return { private: readFileSync(file, 'utf8'), public: readFileSync(`${file}.pub`, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
