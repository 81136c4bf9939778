import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaFile } from './ca-file';

const dir = mkdtempSync(join(tmpdir(), 'fleetctl-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readCaFile', () => {
  it('reads the certificate and its fingerprint as openssl prints it', () => {
    const crt = join(dir, 'hub.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', join(dir, 'hub.key'), '-out', crt, '-subj', '/CN=fleet-hub', '-days', '1'], { stdio: 'ignore' });
    const openssl = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    const ca = readCaFile(crt);
    expect(openssl.trim()).toMatch(new RegExp(`^sha256 Fingerprint=${ca.fingerprint}$`, 'i'));
    expect(ca.pem.trim()).toBe(readFileSync(crt, 'utf8').trim());
  });

  it('names the unreadable or wrong file and what to pass instead', () => {
    expect(() => readCaFile(join(dir, 'missing.crt'))).toThrow(/cannot read hub certificate .*missing.crt: ENOENT: pass the hub's DATA\/hub.crt/);
    const junk = join(dir, 'junk.crt');
    writeFileSync(junk, '-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----\n');
    expect(() => readCaFile(junk)).toThrow(/junk.crt is not a PEM certificate/);
    expect(() => readCaFile(dir)).toThrow(/cannot read hub certificate .*EISDIR/);
  });
});
